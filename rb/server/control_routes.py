"""POST /api/executions/{id}/cancel|pause|resume: control of a durable execution.

The same as `rb cancel`, `rb pause` and `rb resume` (rb.service.durable):
cancel and pause are asked of the process running the execution (or done
in the store when none runs it); resume starts the execution's next start
in the server's worker pool and answers 202 at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rb.engine.events import Listener
from rb.errors import RbError, UsageError
from rb.server.audit_trail import audit
from rb.server.errors import ApiError, ApiJSON, from_rb_error
from rb.server.events.feed import Feed
from rb.server.executions import Launched
from rb.server.permissions import actor_of, permitted
from rb.server.rest import execution_links, json_object, known_fields, wait_flag
from rb.server.state import Server, server_of
from rb.server.views import execution_json
from rb.service.identity import Actor
from rb.store.database import Store
from rb.store.records import Execution

if TYPE_CHECKING:
    from rb.service.durable import ControlOutcome

ACTIONS = ("cancel", "pause", "resume")


async def control(request: Request, action: str) -> Response:
    """Ask for cancel, pause or resume; 202 with what was done, 404 unknown, 409 wrong state."""
    # The body is optional; when sent, a JSON object: {"wait": true} makes a
    # resume answer 200 with the record once it has ended, as execute does.
    body = await json_object(request) if await request.body() else {}
    known_fields(body, ("wait",))
    wait = wait_flag(body, default=False)
    server = server_of(request)
    done, went_on = await apply_control(
        server, actor_of(request), request.path_params["execution_id"], action
    )
    if went_on is not None and wait:
        run = await went_on()
        if run is None:
            raise ApiError(500, "the resumed execution cannot be read back")
        return ApiJSON(execution_json(run))
    return ApiJSON(
        {
            "id": done.execution_id,
            "action": done.action,
            "outcome": done.outcome,
            "message": done.message,
            "links": execution_links(done.execution_id),
        },
        status_code=202,
    )


async def apply_control(
    server: Server, caller: Actor, execution_id: str, action: str
) -> tuple[ControlOutcome, Callable[[], Awaitable[Execution | None]] | None]:
    """Do `action` for `caller` (REST and the web view) and audit it; what was done and,
    for a resume, what waits for the resumed run's record. 404 unknown, 409 wrong state."""
    from rb.service.durable import request_control

    try:
        store = await run_in_threadpool(server.store.ready)
    except RbError as exc:
        raise from_rb_error(exc) from None
    who = caller.name
    try:
        done = await run_in_threadpool(
            # A cancel of a parked run may run its rollbacks here, with the server's secrets.
            lambda: request_control(
                execution_id, action, actor=who, store=store, secrets=server.config.secrets
            )
        )
    except UsageError as exc:
        message = str(exc)
        raise ApiError(404 if message.startswith("no run") else 409, message) from None
    await audit(
        server,
        caller,
        action,
        done.execution_id,
        execution_id=done.execution_id,
        details={"outcome": done.outcome},
    )
    if action != "resume":
        return done, None
    return done, await continue_run(server, done.execution_id, who, store)


async def continue_run(
    server: Server, execution_id: str, who: str, store: Store
) -> Callable[[], Awaitable[Execution | None]]:
    """Resume the run: as a job on its queue when it runs on one (rb worker goes
    on with it), else in the worker pool. Returns what waits for its record
    (a queued run's: once it has ended or parked again)."""
    from rb.server.queued import settled
    from rb.service.enqueue import attempt_of, continue_on_queue

    queue = server.executions.queue

    def defer() -> int | None:
        app = queue.open(store) if queue is not None else None
        parked = attempt_of(store, execution_id)[1]  # read first: the worker may be quick
        return parked if continue_on_queue(store, execution_id, app) is not None else None

    parked = await run_in_threadpool(defer)
    if parked is not None:
        return lambda: settled(store, execution_id, parked)
    launched = start_resume(server, execution_id, who, store)
    return lambda: launched.done


def start_resume(
    server: Server, execution_id: str, who: str, store: Store
) -> Launched[Execution | None]:
    """The resume runs in the worker pool, its events on the execution's stream."""
    from rb.service.durable import resume
    from rb.service.runner import live_world
    from rb.store.queries import get_run

    def job(_feed: Feed, listeners: Sequence[Listener]) -> Execution | None:
        run = get_run(store, execution_id, with_exchanges=False)
        facts = run.metadata.get("facts", {}) if run else {}
        world = live_world(secrets=server.config.secrets, facts=facts)
        resume(execution_id, store=store, actor=who, listeners=listeners, world=world)
        return get_run(store, execution_id, with_exchanges=False)

    return server.executions.launch(job)


def start_retry(
    server: Server, execution_id: str, step_id: str, who: str, store: Store
) -> Launched[Execution | None]:
    """`rb retry`: the step and those downstream of it run again, in the worker pool,
    their events on the execution's stream; the other steps are restored."""
    from rb.service.durable import retry
    from rb.service.runner import live_world
    from rb.store.queries import get_run

    def job(_feed: Feed, listeners: Sequence[Listener]) -> Execution | None:
        run = get_run(store, execution_id, with_exchanges=False)
        facts = run.metadata.get("facts", {}) if run else {}
        # Only a live run goes on live: a fixture run's retry is refused by the service.
        live = run is not None and run.world == "live"
        world = live_world(secrets=server.config.secrets, facts=facts) if live else None
        retry(execution_id, step_id, store=store, actor=who, listeners=listeners, world=world)
        return get_run(store, execution_id, with_exchanges=False)

    return server.executions.launch(job)


def _route(action: str) -> Route:
    @permitted("run")
    async def endpoint(request: Request) -> Response:
        return await control(request, action)

    return Route(f"/api/executions/{{execution_id}}/{action}", endpoint, methods=["POST"])


def routes() -> list[Route]:
    """The control routes: one per action."""
    return [_route(action) for action in ACTIONS]
