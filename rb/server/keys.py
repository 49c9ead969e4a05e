"""The `Idempotency-Key` header of trigger endpoints, and the answer to a repeated trigger.

A second trigger with a key the first one used (same runbook, same
parameters, within the retention) gets the first execution's document with
200 and `Idempotent-Replayed: true`; docs/triggers.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rb.server.errors import ApiError, ApiJSON
from rb.server.executions import ExecutionService
from rb.server.views import execution_json
from rb.service.keys import AlreadyTriggered

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200


def idempotency_key(request: Request) -> str | None:
    """The request's idempotency key (None without the header); 400 for a bad one."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_KEY_LENGTH or not value.isprintable():
        raise ApiError(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return value


async def first_trigger(executions: ExecutionService, first: AlreadyTriggered) -> Response:
    """200 with the execution the key's first trigger started."""
    run = await executions.get(first.execution_id)
    if run is None:  # deleted since: the key went with it, so this is a race
        raise ApiError(409, f"{first}, which is no longer recorded; send the request again")
    return ApiJSON(execution_json(run), headers={REPLAYED_HEADER: "true"})
