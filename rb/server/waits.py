"""REST: decisions on approval steps and events for wait_event steps.

    POST /api/executions/{id}/approvals   {step?, decision: approve|reject, comment?, wait?}
    POST /api/events                      {name, key, data?, keep_seconds?, wait?}

The decider is the identity of the request's token (an `X-RB-Actor` header
is ignored): approving needs role approver and a place in the runbook's
`access: approve` list when it has one; sending an event needs operator.
The approval step's own rules (its approvers, and that whoever triggered
the run may not approve it) apply to that name. A decision that completes
an approval, or an event a parked run waits for, resumes the run in the
server's worker pool (its events on the execution's stream, as any run): the
answer is 202 at once, or with `"wait": true` once the run has gone on to its
end or its next wait, with its status.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rb.errors import UsageError
from rb.server.audit_trail import audit
from rb.server.errors import ApiError, ApiJSON
from rb.server.permissions import actor_of, check_access, permitted
from rb.server.rest import json_object, known_fields, wait_flag
from rb.server.state import Server, server_of
from rb.service.identity import Actor
from rb.service.waits import Answered, decide, send_event
from rb.store.database import Store

DECISION_FIELDS = ("step", "decision", "comment", "wait")
EVENT_FIELDS = ("name", "key", "data", "keep_seconds", "wait")


@permitted("approve")
async def post_approval(request: Request) -> Response:
    """POST /api/executions/{id}/approvals: approve or reject an approval step."""
    body = await json_object(request)
    known_fields(body, DECISION_FIELDS)
    answer = await answer_approval(
        server_of(request),
        request.path_params["execution_id"],
        actor_of(request),
        decision=body.get("decision"),
        step=body.get("step"),
        comment=body.get("comment"),
        wait=wait_flag(body, default=False),
    )
    return ApiJSON(answer, status_code=202)


@permitted("run")
async def post_event(request: Request) -> Response:
    """POST /api/events: an event; a run parked waiting for it goes on."""
    body = await json_object(request)
    known_fields(body, EVENT_FIELDS)
    answer = await answer_event(
        server_of(request),
        actor_of(request),
        name=body.get("name"),
        key=body.get("key"),
        data=body.get("data"),
        keep_seconds=body.get("keep_seconds"),
        wait=wait_flag(body, default=False),
    )
    return ApiJSON(answer, status_code=202)


async def answer_approval(
    server: Server,
    execution_id: str,
    who: Actor,
    *,
    decision: Any,
    step: Any,
    comment: Any,
    wait: bool = False,
) -> dict[str, Any]:
    """A decision from the API (REST or GraphQL); ApiError 400/403/404/409 when refused.

    The caller's role was checked (approve); here the runbook's `access:`
    in the environment the run was started for.
    """
    from rb.store.queries import runbook_and_environment

    store = _store(server)
    if decision not in ("approve", "reject"):
        raise ApiError(400, "decision must be 'approve' or 'reject'")
    step_id = _text("step", step, required=False)
    said = _text("comment", comment, required=False)
    ran = await run_in_threadpool(runbook_and_environment, store, execution_id)
    if ran is not None:  # the access list of the environment the run is for
        await check_access(server, who, "approve", *ran)
    answered = await _answer(
        lambda: decide(
            store,
            execution_id,
            str(decision),
            actor=who.name,
            step_id=step_id,
            comment=said,
            resume=None,
        )
    )
    details = {"step": answered.step_id, "complete": answered.complete}
    if said:
        details["comment"] = said
    await audit(
        server,
        who,
        str(decision),
        execution_id,
        execution_id=execution_id,
        runbook_id=ran[0] if ran is not None else None,
        details=details,
    )
    return await _go_on(server, store, answered, who.name, wait)


async def answer_event(
    server: Server,
    who: Actor,
    *,
    name: Any,
    key: Any,
    data: Any,
    keep_seconds: Any,
    wait: bool = False,
) -> dict[str, Any]:
    """An event from the API (REST or GraphQL); ApiError 400 when malformed."""
    store = _store(server)
    event = _text("name", name)
    if not isinstance(key, str | int) or isinstance(key, bool) or key == "":
        raise ApiError(400, "key must be a non-empty string or a number")
    number = isinstance(keep_seconds, int | float) and not isinstance(keep_seconds, bool)
    if keep_seconds is not None and (not number or keep_seconds < 0):
        raise ApiError(400, "keep_seconds must be a number of seconds, 0 or more")
    answered = await _answer(
        lambda: send_event(
            store,
            str(event),
            str(key),
            data,
            actor=who.name,
            keep_seconds=keep_seconds,
            resume=None,
        )
    )
    await audit(
        server,
        who,
        "event",
        f"{event}/{key}",
        execution_id=answered.execution_id,
        details={"name": event, "key": str(key), "complete": answered.complete},
    )
    return await _go_on(server, store, answered, who.name, wait)


def _store(server: Server) -> Store:
    store: Store = server.store.ready()
    return store


async def _go_on(
    server: Server, store: Store, answered: Answered, who: str, wait: bool
) -> dict[str, Any]:
    """Resume the run the answer completes, in the worker pool; wait for it if asked."""
    document = _json(answered, who)
    if not (answered.complete and answered.execution_id):
        return document
    from rb.server.control_routes import continue_run

    went_on = await continue_run(server, answered.execution_id, who, store)
    document["resumed"] = True
    if not wait:
        document["note"] = "the run goes on in the background: follow it at its links"
        return document
    run = await went_on()
    document["status"] = None if run is None else run.status
    document["note"] = "the run went on"
    return document


async def _answer(call: Any) -> Answered:
    try:
        answered: Answered = await run_in_threadpool(call)
    except UsageError as exc:
        status = 404 if str(exc).startswith("no execution") else 409
        raise ApiError(status, str(exc)) from None
    return answered


def _text(name: str, value: Any, *, required: bool = True) -> str | None:
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
