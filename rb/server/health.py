"""Probes: `/health/live` (the process serves) and `/health/ready` (it can work)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from rb.server.errors import ApiJSON, error_response
from rb.server.state import server_of
from rb.store.database import StoreError

READY_TIMEOUT_SECONDS = 5.0  # an unreachable host would otherwise hang the probe


async def live(_request: Request) -> Response:
    """200 while the process answers at all."""
    return ApiJSON({"status": "live"})


async def ready(request: Request) -> Response:
    """200 when the store answers (migrated on first contact), else 503."""
    store = server_of(request).store
    loop = asyncio.get_running_loop()
    try:
        # The default executor, not Starlette's: its future can be abandoned.
        await asyncio.wait_for(loop.run_in_executor(None, store.ping), READY_TIMEOUT_SECONDS)
    except StoreError as exc:
        return error_response(503, str(exc), status="unavailable", database=store.shown)
    except TimeoutError:
        message = f"database {store.shown} did not answer in {READY_TIMEOUT_SECONDS:g}s"
        return error_response(503, message, status="unavailable", database=store.shown)
    return ApiJSON({"status": "ready", "database": store.shown})
