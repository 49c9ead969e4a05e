"""REST: decisions on approval steps and events for wait_event steps.

    POST /api/executions/{id}/approvals   {step?, decision: approve|reject, comment?}
    POST /api/events                      {name, key, data?, keep_seconds?}

The decider is who the request says it is (`X-RB-Actor`, else "api"), behind
the same bearer token as every other endpoint. A decision that completes an
approval, or an event a parked run waits for, resumes the run in the
server's thread pool; the answer (202) returns once the run has gone on
(to its end, or to its next wait).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rb.errors import UsageError
from rb.server.errors import ApiError, ApiJSON
from rb.server.rest import actor, json_object
from rb.server.state import server_of
from rb.service.waits import Answered, decide, send_event

DECISION_FIELDS = ("step", "decision", "comment")
EVENT_FIELDS = ("name", "key", "data", "keep_seconds")


async def post_approval(request: Request) -> Response:
    """POST /api/executions/{id}/approvals: approve or reject an approval step."""
    body = await json_object(request)
    _known(body, DECISION_FIELDS)
    decision = body.get("decision")
    if decision not in ("approve", "reject"):
        raise ApiError(400, "decision must be 'approve' or 'reject'")
    step = _text(body, "step", required=False)
    comment = _text(body, "comment", required=False)
    store = server_of(request).store.ready()
    execution_id = request.path_params["execution_id"]
    who = actor(request)
    answered = await _answer(
        lambda: decide(store, execution_id, str(decision), actor=who, step_id=step, comment=comment)
    )
    return ApiJSON(_json(answered, who), status_code=202)


async def post_event(request: Request) -> Response:
    """POST /api/events: an event; a run parked waiting for it goes on."""
    body = await json_object(request)
    _known(body, EVENT_FIELDS)
    name = _text(body, "name")
    key = body.get("key")
    if not isinstance(key, str | int) or isinstance(key, bool) or key == "":
        raise ApiError(400, "key must be a non-empty string or a number")
    keep = body.get("keep_seconds")
    if keep is not None and (not isinstance(keep, int | float) or keep < 0):
        raise ApiError(400, "keep_seconds must be a number of seconds, 0 or more")
    store = server_of(request).store.ready()
    who = actor(request)
    answered = await _answer(
        lambda: send_event(
            store, str(name), str(key), body.get("data"), actor=who, keep_seconds=keep
        )
    )
    return ApiJSON(_json(answered, who), status_code=202)


async def _answer(call: Any) -> Answered:
    try:
        answered: Answered = await run_in_threadpool(call)
    except UsageError as exc:
        status = 404 if str(exc).startswith("no execution") else 409
        raise ApiError(status, str(exc)) from None
    return answered


def _known(body: dict[str, Any], fields: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}; expected {', '.join(fields)}")


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{name} must be a non-empty string")
    return value


def _json(answered: Answered, who: str) -> dict[str, Any]:
    resumed = answered.resumed
    return {
        "execution_id": answered.execution_id,
        "step": answered.step_id,
        "by": who,
        "complete": answered.complete,
        "resumed": resumed is not None,
        "status": None if resumed is None else resumed.result.status,
        "note": answered.note,
    }


def routes() -> list[Route]:
    """The routes for answers to waiting runs."""
    return [
        Route("/api/executions/{execution_id}/approvals", post_approval, methods=["POST"]),
        Route("/api/events", post_event, methods=["POST"]),
    ]
