"""What every web view page shares: who is signed in, forms, templates, errors.

A page finds its caller from the session cookie (rb.server.web.sessions),
puts the identity where the API's permission checks look for it, and
checks the role with the same rules (rb.server.permissions). A POST also
needs the session's CSRF token in its form. A refusal or an error is an
HTML page with the API's status and message.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rb.errors import RbError
from rb.server.auth import ACTOR_KEY
from rb.server.errors import ApiError, from_rb_error
from rb.server.permissions import require
from rb.server.state import server_of
from rb.server.web.sessions import COOKIE, Session, sessions_of
from rb.service.access import refusal
from rb.service.identity import Actor
from rb.store.database import StoreError

if TYPE_CHECKING:
    import jinja2

    from rb.model import Runbook

log = logging.getLogger("rb.server")

Page = Callable[[Request, "Caller"], Awaitable[Response]]


@dataclass(frozen=True)
class Caller:
    """The signed-in user of a request: their token's identity and their session."""

    actor: Actor
    session: Session

    def may(self, permission: str, runbook: Runbook | None = None, env: str | None = None) -> bool:
        """Whether the role (and the runbook's `access:`) allows `permission`: what to show."""
        return refusal(self.actor, permission, runbook, env) is None


async def signed_in(request: Request) -> Caller | None:
    """The caller whose session cookie the request carries (None: not signed in)."""
    sessions = sessions_of(request)
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return None
    auth = server_of(request).auth
    actor = auth.cached(session.token)
    if actor is None:
        try:
            actor = await run_in_threadpool(auth.resolve, session.token)
        except StoreError as exc:
            raise ApiError(503, f"cannot check the session's token: {exc}") from None
    if actor is None:  # revoked since: the session ends with it
        sessions.end(session.id)
        return None
    client = request.client
    actor = replace(actor, origin=client.host if client else "")
    request.scope[ACTOR_KEY] = actor
    return Caller(actor, session)


async def form_of(request: Request) -> dict[str, str]:
    """The request's url-encoded form (the guard capped its size and checked its type)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def page(permission: str) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
    """A web view endpoint for callers whose role carries `permission`.

    GET without a session: to /login. POST: 403 without a session or with a
    wrong CSRF token. API errors become HTML pages with the same status.
    """

    def decorate(endpoint: Page) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def wrapped(request: Request) -> Response:
            try:
                caller = await signed_in(request)
                if caller is None:
                    if request.method == "GET":
                        return RedirectResponse(
                            f"/login?next={quote(request.url.path)}", status_code=303
                        )
                    raise ApiError(403, "sign in first: your session has ended")
                if request.method == "POST":
                    form = await form_of(request)
                    if not caller.session.csrf_matches(form.get("csrf")):
                        raise ApiError(403, "the form's CSRF token is missing or wrong")
                    request.state.form = form
                require(request, permission)
                return await endpoint(request, caller)
            except ApiError as exc:
                return error_page(request, exc.status, exc.message)
            except RbError as exc:  # what the API would answer: 400, 409, 503...
                error = from_rb_error(exc)
                return error_page(request, error.status, error.message)

        return wrapped

    return decorate


def error_page(request: Request, status: int, message: str) -> Response:
    """An HTML page saying what went wrong."""
    return render(request, "error.html.j2", {"status": status, "message": message}, status)


def render(
    request: Request,
    template: str,
    values: Mapping[str, Any],
    status: int = 200,
    caller: Caller | None = None,
) -> HTMLResponse:
    """A page from the web view's templates (autoescaped); framing refused."""
    text = environment().get_template(template).render(caller=caller, **values)
    headers = {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        # Scripts only from this server: the live progress script, never inline.
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self'"
        ),
        "Referrer-Policy": "same-origin",
    }
    return HTMLResponse(text, status_code=status, headers=headers)


@functools.cache
def environment() -> jinja2.Environment:
    """The web view's templates (package data), with the report's filters."""
    from rb.htmlreport import templates_of

    return templates_of("rb.server.web")
