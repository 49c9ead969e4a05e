"""The web view's forms: sign in and out, start a run, decide, cancel, pause, resume, retry.

Each goes through the function the REST handler uses (and is audited the
same way, under the signed-in token's identity), after the page decorator
has checked the session, the CSRF token and the role; the runbook's
`access:` is checked again here. Every form answers with a redirect to the
page that shows what happened (303: the browser follows with a GET).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rb.server.control_routes import ACTIONS, apply_control, start_retry
from rb.server.errors import ApiError
from rb.server.executions import ExecuteRequest
from rb.server.permissions import check_access
from rb.server.rest import trigger
from rb.server.state import Server, server_of
from rb.server.waits import answer_approval
from rb.server.web.common import Caller, error_page, form_of, page, render
from rb.server.web.sessions import clear_cookie, sessions_of, set_cookie
from rb.service.keys import AlreadyTriggered
from rb.store.database import StoreError

PARAM = "param."  # form fields that carry a parameter's value
RESUME_START_SECONDS = 10.0  # at most this long before the page of a resumed run is shown


def _to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def login_form(request: Request) -> Response:
    """GET /login: the form where a token is pasted."""
    values = {"next": _next(request.query_params.get("next")), "problem": ""}
    return render(request, "login.html.j2", values)


async def login(request: Request) -> Response:
    """POST /login: a valid token starts a session (its cookie), then the page asked for."""
    form = await form_of(request)
    token = form.get("token", "").strip()
    auth = server_of(request).auth
    try:
        actor = await run_in_threadpool(auth.resolve, token) if token else None
    except StoreError as exc:
        return error_page(request, 503, f"cannot check the token: {exc}")
    target = _next(form.get("next"))
    if actor is None:
        message = "unknown, revoked or wrong token: paste a token from rb tokens create"
        values = {"next": target, "problem": message}
        return render(request, "login.html.j2", values, status=401)
    response = _to(target)
    set_cookie(response, request, sessions_of(request).create(token))
    return response


@page("view")
async def logout(request: Request, caller: Caller) -> Response:
    """POST /logout: the session ends, here and in the browser."""
    sessions_of(request).end(caller.session.id)
    response = _to("/login")
    clear_cookie(response, request)
    return response


def _next(given: str | None) -> str:
    """Where to go after signing in: a path on this server only (never another site)."""
    if not given or not given.startswith("/") or given.startswith("//"):
        return "/"
    parts = urlsplit(given)
    return "/" if parts.scheme or parts.netloc or "\\" in given else given


@page("run")
async def start(request: Request, caller: Caller) -> Response:
    """POST /runbooks/{id}/start: a fixture run (a fixture chosen) or a live one."""
    server = server_of(request)
    runbook_id = request.path_params["runbook_id"]
    form: dict[str, str] = request.state.form
    inputs = await run_in_threadpool(_inputs, server, runbook_id, form)
    fixture = form.get("fixture") or None
    environment = form.get("environment") or None
    asked = ExecuteRequest(
        runbook_id, inputs, fixture, actor=caller.actor.name, environment=environment
    )
    try:
        _, execution_id = await trigger(server, caller.actor, asked)
    except AlreadyTriggered as first:
        execution_id = first.execution_id
    return _to(f"/executions/{execution_id}")


def _inputs(server: Server, runbook_id: str, form: dict[str, str]) -> dict[str, object]:
    """The parameters filled in, typed as their declarations say (blank: the default)."""
    from rb.engine.params import resolve_params
    from rb.errors import RbError
    from rb.server.errors import from_rb_error

    given = {k[len(PARAM) :]: v for k, v in form.items() if k.startswith(PARAM) and v != ""}
    if not given:
        return {}
    runbook = server.executions.catalog.runbook(runbook_id)
    try:
        typed = resolve_params(runbook, given, from_text=True)
    except RbError as exc:
        raise from_rb_error(exc) from None
    return {name: typed[name] for name in given}


@page("approve")
async def decide(request: Request, caller: Caller) -> Response:
    """POST /executions/{id}/approvals: approve or reject (the runbook's access is checked)."""
    execution_id = request.path_params["execution_id"]
    form: dict[str, str] = request.state.form
    await answer_approval(
        server_of(request),
        execution_id,
        caller.actor,
        decision=form.get("decision"),
        step=form.get("step") or None,
        comment=form.get("comment") or None,
    )
    return _to(f"/executions/{execution_id}")


@page("run")
async def control(request: Request, caller: Caller) -> Response:
    """POST /executions/{id}/{cancel|pause|resume}."""
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise ApiError(404, f"no action {action!r}: one of {', '.join(ACTIONS)}")
    server = server_of(request)
    execution_id = request.path_params["execution_id"]
    await _check_run_access(server, caller, execution_id)
    done, went_on = await apply_control(server, caller.actor, execution_id, action)
    if went_on is not None and server.executions.queue is None:
        # Show the page once the resumed run has started here, so it follows it.
        await server.executions.feeds.next_start(done.execution_id, RESUME_START_SECONDS)
    return _to(f"/executions/{done.execution_id}")


@page("run")
async def retry(request: Request, caller: Caller) -> Response:
    """POST /executions/{id}/retry: run a step and those after it again (a live run)."""
    from rb.server.audit_trail import audit
    from rb.service.durable import RETRYABLE

    server = server_of(request)
    execution_id = request.path_params["execution_id"]
    step = request.state.form.get("step", "")
    run = await server.executions.get(execution_id)
    if run is None:
        raise ApiError(404, f"no execution {execution_id!r}")
    if run.world != "live" or run.status not in RETRYABLE:
        raise ApiError(409, f"run {run.id[:8]} is a {run.world} run, {run.status}: not retried")
    from rb.loader import load_text

    book = load_text(run.definition, run.definition_path).runbook
    if book is None or step not in book.graph:
        raise ApiError(400, f"the runbook of run {run.id[:8]} has no step {step!r} to retry")
    await _check_run_access(server, caller, run.id)
    store = await run_in_threadpool(server.store.ready)
    launched = start_retry(server, run.id, step, caller.actor.name, store)
    # Once its start is recorded (or it failed first: an error page), so the page follows it.
    await launched.execution_id()
    await audit(server, caller.actor, "retry", run.id, execution_id=run.id, details={"step": step})
    return _to(f"/executions/{run.id}")


async def _check_run_access(server: Server, caller: Caller, execution_id: str) -> None:
    from rb.store.queries import runbook_and_environment

    store = await run_in_threadpool(server.store.ready)
    ran = await run_in_threadpool(runbook_and_environment, store, execution_id)
    if ran is not None:
        await check_access(server, caller.actor, "run", *ran)
