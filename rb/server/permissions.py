"""What the caller may do: its token's role, and a runbook's `access:` lists.

Each route and GraphQL field names the permission it needs (rb.service.access:
view, run, approve, admin); the token's identity was put in the request by
rb/server/auth.py. Refusals are 403 with the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from rb.errors import UsageError
from rb.server.auth import ACTOR_KEY
from rb.server.errors import ApiError
from rb.server.state import Server
from rb.service.access import refusal
from rb.service.definitions import declared
from rb.service.identity import Actor

Endpoint = Callable[[Request], Awaitable[Response]]


def actor_of(connection: HTTPConnection) -> Actor:
    """The identity of the token the request came with (rb/server/auth.py)."""
    actor = connection.scope.get(ACTOR_KEY)
    if not isinstance(actor, Actor):  # only /health/* passes without one, and needs none
        raise ApiError(401, "this request carries no identity")
    return actor


def require(connection: HTTPConnection, permission: str) -> Actor:
    """The caller, if its role carries `permission`; else ApiError 403 saying why."""
    actor = actor_of(connection)
    reason = refusal(actor, permission)
    if reason is not None:
        raise ApiError(403, reason)
    return actor


def permitted(permission: str) -> Callable[[Endpoint], Endpoint]:
    """A route endpoint that answers 403 unless the caller's role carries `permission`."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapped(request: Request) -> Response:
            require(request, permission)
            return await endpoint(request)

        return wrapped

    return decorate


async def check_access(
    server: Server,
    actor: Actor,
    permission: str,
    runbook_id: str,
    environment: str | None = None,
) -> None:
    """ApiError 403 when the runbook's `access:` (in `environment`) leaves `actor` out;
    400 when the runbook declares no such environment.

    A runbook that is not found or not valid is left to the action, which
    answers 404 or 422 for it.
    """
    entry = await run_in_threadpool(server.executions.catalog.get, runbook_id)
    if entry is None or entry.runbook is None:
        return
    runbook = entry.runbook
    try:
        declared(runbook, environment)  # a typo must not fall back to the runbook's own access
    except UsageError as exc:
        raise ApiError(400, str(exc)) from None
    reason = refusal(actor, permission, runbook, environment)
    if reason is not None:
        raise ApiError(403, reason)
