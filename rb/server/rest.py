"""The REST API under /api: runbooks, executions, their event streams, replays."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rb.server.audit_trail import audit
from rb.server.errors import ApiError, ApiJSON
from rb.server.events import sse
from rb.server.executions import ExecuteRequest, ExecutionService, Launched
from rb.server.guard import MAX_BODY_BYTES
from rb.server.keys import first_trigger, idempotency_key
from rb.server.permissions import actor_of, check_access, permitted
from rb.server.state import Server, server_of
from rb.server.views import execution_json, runbook_json, runbook_summary
from rb.service.enqueue import Enqueued
from rb.service.identity import Actor
from rb.service.keys import AlreadyTriggered
from rb.store.records import Execution

EXECUTE_FIELDS = ("runbook_id", "inputs", "fixture", "facts", "wait", "environment")


@permitted("view")
async def list_runbooks(request: Request) -> Response:
    """GET /api/runbooks: every runbook under the runbooks folder."""
    server = server_of(request)
    entries = await run_in_threadpool(server.executions.catalog.entries)
    project = server.config.project
    return ApiJSON({"runbooks": [runbook_summary(e, project) for e in entries]})


@permitted("view")
async def get_runbook(request: Request) -> Response:
    """GET /api/runbooks/{id}: one runbook in full."""
    server = server_of(request)
    runbook_id = request.path_params["runbook_id"]
    entry = await run_in_threadpool(server.executions.catalog.get, runbook_id)
    if entry is None:
        raise ApiError(404, f"no runbook {runbook_id!r}")
    return ApiJSON(runbook_json(entry, server.config.project))


@permitted("run")
async def execute(request: Request) -> Response:
    """POST /api/runbooks/execute: run a runbook; 200 with its record when it ends,
    or 202 with its id at once when the body says `"wait": false`."""
    body = await json_object(request)
    known_fields(body, EXECUTE_FIELDS)
    wait = wait_flag(body, default=True)
    server = server_of(request)
    who = actor_of(request)
    asked = replace(execute_request(body, who.name), idempotency_key=idempotency_key(request))
    try:
        started, execution_id = await trigger(server, who, asked)
    except AlreadyTriggered as first:
        return await first_trigger(server.executions, first)
    return await _executed(server.executions, started, execution_id, wait)


Started = Launched[Execution | None] | Enqueued


async def trigger(server: Server, who: Actor, asked: ExecuteRequest) -> tuple[Started, str]:
    """Start (or queue) a run for `who` if the runbook's `access:` lets them, and
    record the trigger in the audit trail; the run and its execution id."""
    await check_access(server, who, "run", asked.runbook_id, asked.environment)
    started = await server.executions.execute(asked)
    execution_id = (
        started.execution_id if isinstance(started, Enqueued) else await started.execution_id()
    )
    details = {"runbook": asked.runbook_id, "world": "live" if asked.fixture is None else "fixture"}
    if asked.environment is not None:
        details["environment"] = asked.environment
    await audit(
        server,
        who,
        "trigger",
        execution_id,
        execution_id=execution_id,
        runbook_id=asked.runbook_id,
        details=details,
    )
    return started, execution_id


async def _executed(
    executions: ExecutionService, started: Started, execution_id: str, wait: bool
) -> Response:
    if not wait:
        status = "queued" if isinstance(started, Enqueued) else "running"
        links = execution_links(execution_id)
        return ApiJSON(
            {"id": execution_id, "status": status, "links": links},
            status_code=202,
            headers={"Location": links["self"]},
        )
    run = await executions.finished(started)
    if run is None:
        raise ApiError(500, "the execution was not recorded")
    return ApiJSON(execution_json(run))


def execute_request(body: dict[str, Any], actor: str) -> ExecuteRequest:
    """An ExecuteRequest from a request body; ApiError 400 naming a bad field."""
    runbook_id = body.get("runbook_id")
    if runbook_id is None or runbook_id == "":
        raise ApiError(400, "runbook_id is required")
    if not isinstance(runbook_id, str):
        raise ApiError(400, f"runbook_id must be a string, not {json_type(runbook_id)}")
    inputs = _object(body, "inputs")
    facts = _object(body, "facts")
    fixture = body.get("fixture")
    if fixture is not None and not isinstance(fixture, str):
        raise ApiError(400, f"fixture must be a path (a string), not {json_type(fixture)}")
    environment = body.get("environment")
    if environment is not None and (not isinstance(environment, str) or not environment):
        raise ApiError(400, "environment must be the name of one of the runbook's environments")
    return ExecuteRequest(runbook_id, inputs, fixture, facts, actor, environment=environment)


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be a JSON object, not {json_type(value)}")
    return value


@permitted("view")
async def get_execution(request: Request) -> Response:
    """GET /api/executions/{id}: an execution with its step logs."""
    execution_id = request.path_params["execution_id"]
    run = await server_of(request).executions.get(execution_id)
    if run is None:
        raise ApiError(404, f"no execution {execution_id!r}")
    return ApiJSON(execution_json(run))


@permitted("view")
async def execution_events(request: Request) -> Response:
    """GET /api/executions/{id}/events: its events as Server-Sent Events."""
    return await events_of(server_of(request), request)


async def events_of(server: Server, request: Request) -> Response:
    """The event stream of the request's execution (the API's, and the web view's page)."""
    executions = server.executions
    execution_id = request.path_params["execution_id"]
    feed = executions.feeds.get(execution_id)
    if feed is not None:
        after = sse.last_event_id(request.headers.get("last-event-id"))
        return sse.event_stream(sse.follow(feed, after))
    run = await executions.get(execution_id)
    if run is None:
        raise ApiError(404, f"no execution {execution_id!r}")
    return sse.event_stream(sse.snapshot(execution_json(run)))


@permitted("run")
async def replay(request: Request) -> Response:
    """POST /api/executions/{id}/replay: run a recording again and compare."""
    execution_id = request.path_params["execution_id"]
    run, verified = await replay_for(server_of(request), actor_of(request), execution_id)
    return ApiJSON({**execution_json(run), "verified": verified})


async def replay_for(server: Server, who: Actor, execution_id: str) -> tuple[Execution, bool]:
    """Replay an execution for `who` and record it in the audit trail (REST and GraphQL);
    the replay's record and whether it matched."""
    launched = await server.executions.replay(execution_id, who.name)
    replayed = await launched.done
    if replayed.run is None:
        raise ApiError(500, "the replay was not recorded")
    details = {"replay": replayed.run.id, "verified": replayed.report.verified}
    await audit(server, who, "replay", execution_id, execution_id=execution_id, details=details)
    return replayed.run, replayed.report.verified


# Helpers ---------------------------------------------------------------------------


def known_fields(body: Mapping[str, Any], fields: Sequence[str]) -> None:
    """ApiError 400 naming the first field of `body` that is not one of `fields`."""
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}; expected {', '.join(fields)}")


def wait_flag(body: Mapping[str, Any], *, default: bool) -> bool:
    """The body's `wait` (answer once the run has gone on); ApiError 400 unless a boolean."""
    wait = body.get("wait", default)
    if not isinstance(wait, bool):
        raise ApiError(400, "wait must be true or false")
    return wait


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; ApiError 400/413 otherwise."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise ApiError(400, "request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object, not {json_type(body)}")
    return body


def execution_links(execution_id: str) -> dict[str, str]:
    base = f"/api/executions/{execution_id}"
    return {"self": base, "events": f"{base}/events", "replay": f"{base}/replay"}


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def routes() -> list[Route]:
    """The REST routes."""
    return [
        Route("/api/runbooks", list_runbooks, methods=["GET"]),
        Route("/api/runbooks/execute", execute, methods=["POST"]),
        Route("/api/runbooks/{runbook_id}", get_runbook, methods=["GET"]),
        Route("/api/executions/{execution_id}", get_execution, methods=["GET"]),
        Route("/api/executions/{execution_id}/events", execution_events, methods=["GET"]),
        Route("/api/executions/{execution_id}/replay", replay, methods=["POST"]),
    ]
