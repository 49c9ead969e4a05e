"""The web view's pages: runbooks, executions, one execution (GET only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rb.server.errors import ApiError
from rb.server.events.feed import Feed
from rb.server.rest import events_of
from rb.server.state import Server, server_of
from rb.server.web.common import Caller, page, render

if TYPE_CHECKING:
    from rb.model import Runbook
    from rb.store.records import Execution

MAX_FIXTURES = 200  # fixture files offered in a start form
RECENT = 100  # executions listed
# A page of such a run follows its event stream; a waiting one until it goes on.
LIVE = frozenset({"running", "queued", "waiting"})
CANCELLABLE = frozenset({"running", "waiting", "interrupted", "queued"})


@dataclass(frozen=True)
class RunbookCard:
    """A runbook on the list: its DAG, and its start form when the caller may run it."""

    id: str
    name: str
    version: str
    description: str
    path: str
    errors: tuple[str, ...]
    dag: str  # an inline SVG (escaped by rb.htmlreport)
    parameters: tuple[Any, ...]
    environments: tuple[str, ...]
    fixtures: tuple[str, ...]
    can_run: bool


@page("view")
async def runbooks(request: Request, caller: Caller) -> Response:
    """GET /: every runbook, with its DAG and, for operators, a start form."""
    server = server_of(request)
    cards = await run_in_threadpool(_cards, server, caller)
    return render(request, "runbooks.html.j2", {"cards": cards}, caller=caller)


def _cards(server: Server, caller: Caller) -> list[RunbookCard]:
    from rb.htmlreport import dag_svg

    fixtures = _fixtures(server)
    cards = []
    for n, entry in enumerate(server.executions.catalog.entries()):
        book = entry.runbook
        path = entry.path.resolve()
        project = server.config.project.resolve()
        shown = str(path.relative_to(project)) if path.is_relative_to(project) else path.name
        cards.append(
            RunbookCard(
                id=entry.id,
                name=book.name if book else "",
                version=book.version if book else "",
                description=book.description if book else "",
                path=shown,
                errors=entry.errors,
                dag=dag_svg(book, n=n) if book else "",
                parameters=book.parameters if book else (),
                environments=tuple(e.name for e in book.environments) if book else (),
                fixtures=tuple(f for f, target in fixtures if target in (None, entry.id)),
                can_run=book is not None and caller.may("run", book),
            )
        )
    return cards


def _fixtures(server: Server) -> list[tuple[str, str | None]]:
    """Fixture files of the project's fixtures/ folder, with the runbook each names."""
    from rb.errors import RbError

    folder = server.config.project / "fixtures"
    found: list[tuple[str, str | None]] = []
    paths = sorted(folder.rglob("*.y*ml")) if folder.is_dir() else []
    for path in paths[:MAX_FIXTURES]:
        ref = str(path.relative_to(server.config.project))
        try:
            fixture = server.executions.fixtures.load(ref)
        except (ApiError, RbError):
            continue  # not a fixture (a page's data, a broken file): not offered
        found.append((ref, fixture.runbook))
    return found


@page("view")
async def executions(request: Request, caller: Caller) -> Response:
    """GET /executions: the recent executions, newest first."""
    from rb.store.queries import list_runs

    server = server_of(request)
    store = await run_in_threadpool(server.store.ready)
    runs = await run_in_threadpool(lambda: list_runs(store, limit=RECENT))
    return render(request, "executions.html.j2", {"runs": runs}, caller=caller)


@page("view")
async def execution(request: Request, caller: Caller) -> Response:
    """GET /executions/{id}: the run's report, its live progress, and the caller's actions."""
    server = server_of(request)
    execution_id = request.path_params["execution_id"]
    run = await server.executions.get(execution_id)  # marks a dead process's run interrupted
    if run is None:
        raise ApiError(404, f"no execution {execution_id!r}")
    values = await run_in_threadpool(_execution_values, server, run, caller)
    return render(request, "execution.html.j2", values, caller=caller)


def _execution_values(server: Server, run: Execution, caller: Caller) -> dict[str, Any]:
    from rb.htmlreport import Section
    from rb.htmlreport import render as report
    from rb.loader import load_text
    from rb.service.durable import RESUMABLE, RETRYABLE
    from rb.store.queries import get_run

    full = get_run(server.store.ready(), run.id, with_exchanges=True) or run
    book: Runbook | None = load_text(run.definition, run.definition_path).runbook
    env = run.metadata.get("environment")
    env = str(env) if env else None
    may_run = caller.may("run", book, env)
    states = {s.step_id: s.status for s in run.steps}
    steps = [(s.id, s.type, states.get(s.id, "not run")) for s in book.steps] if book else []
    waiting_approvals = [
        sid for sid, kind, state in steps if kind == "approval" and state in ("not run", "waiting")
    ]
    live = run.world == "live"
    return {
        "run": run,
        "steps": steps,
        "live": run.status in LIVE,
        "report": report([Section(full)], base_dir=server.config.project),
        "approvals": waiting_approvals
        if run.status == "waiting" and caller.may("approve", book, env)
        else [],
        "can_cancel": may_run and run.status in CANCELLABLE,
        "can_pause": may_run and run.status == "running",
        "can_resume": may_run and live and run.status in RESUMABLE,
        "can_retry": may_run and live and run.status in RETRYABLE and bool(steps),
    }


@page("view")
async def execution_events(request: Request, caller: Caller) -> Response:
    """GET /executions/{id}/events: the execution's event stream, for the page's script.

    As the API's, but a parked (waiting) run's stream is held open until this
    server resumes it, then follows the resumed run; after KEEPALIVE_SECONDS
    it ends with `end` (status waiting) and the browser reconnects on its own.
    Every connection starts from the first event of the run's current start
    (the page's script sets states, so seeing one again does no harm).
    """
    from rb.server.events import sse

    server = server_of(request)
    execution_id = request.path_params["execution_id"]
    feed = server.executions.feeds.get(execution_id)
    if feed is not None and not (feed.finished and _ended_as(feed) == "waiting"):
        return sse.event_stream(_reconnecting(sse.follow(feed)))
    run = await server.executions.get(execution_id)
    if run is None:
        raise ApiError(404, f"no execution {execution_id!r}")
    if run.status != "waiting":
        return await events_of(server, request)

    async def parked() -> AsyncIterator[bytes]:
        yield sse.message("parked", {"id": execution_id, "status": "waiting"})
        resumed = await server.executions.feeds.next_start(execution_id, sse.KEEPALIVE_SECONDS)
        if resumed is None:
            yield sse.message("end", {"id": execution_id, "status": "waiting"})
            return
        async for chunk in sse.follow(resumed):
            yield chunk

    return sse.event_stream(_reconnecting(parked()))


async def _reconnecting(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`events`, telling the browser to reconnect a second after the stream ends
    (the page's script closes it once the run has ended)."""
    yield b"retry: 1000\n\n"
    async for chunk in events:
        yield chunk


def _ended_as(feed: Feed) -> str | None:
    """The status of the run_finished event a finished feed holds."""
    ends = (p.data.get("status") for p in reversed(feed.events) if p.type == "run_finished")
    return next(ends, None)
