"""Who asks: every request but `/health/*` and the web view's pages
needs `Authorization: Bearer <token>`.

A token is either one made with `rb tokens create` (rb/store/tokens.py:
the store holds only its secret's hash) or `RB_API_TOKEN`, the bootstrap
identity `api-token` with role admin. The middleware answers 401 (JSON,
with `WWW-Authenticate`) to a request without a token that is known and not
revoked, and hands the token's identity (rb.service.identity.Actor) to the
routes, which check its role (rb/server/permissions.py).

A store token, once looked up, is remembered for `token_cache_seconds`
(5 by default) keyed by its SHA-256, so the store is not asked on every
request: a token revoked with `rb tokens revoke` in another process is
refused within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from rb.server.database import ServerStore
from rb.server.errors import error_response
from rb.service.identity import Actor
from rb.service.tokens import BOOTSTRAP_NAME
from rb.store.database import StoreError

log = logging.getLogger("rb.server")

OPEN_PREFIX = "/health/"  # probes must work without a token
# The web view's pages (rb/server/web): signed in with a session cookie, not a bearer token.
WEB_PAGES = ("/", "/login", "/logout", "/executions")
WEB_PREFIXES = ("/executions/", "/runbooks/", "/web/")
ACTOR_KEY = "rb.actor"  # where the request's Actor is kept in the ASGI scope
MAX_CACHED = 4096  # tokens remembered at once; past it the cache starts again
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="rb"'}


class Authenticator:
    """Resolves a bearer token's text to its identity (None: not a valid token)."""

    def __init__(
        self,
        store: ServerStore,
        bootstrap: str | None,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._bootstrap = bootstrap.encode() if bootstrap else None
        self._ttl = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Actor]] = {}

    def cached(self, text: str) -> Actor | None:
        """The identity without asking the store: the bootstrap token, or a fresh cache entry."""
        if self._bootstrap is not None and hmac.compare_digest(text.encode(), self._bootstrap):
            return Actor(BOOTSTRAP_NAME, verified=True, role="admin")
        if self._ttl <= 0:
            return None
        with self._lock:
            hit = self._cache.get(_key(text))
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        return None

    def resolve(self, text: str) -> Actor | None:
        """The identity of `text` (asks the store unless cached); StoreError when it is down."""
        from rb.store.tokens import authenticate, touch

        known = self.cached(text)
        if known is not None:
            return known
        store = self._store.ready()
        token = authenticate(store, text)
        if token is None:
            return None
        actor = Actor(token.name, verified=True, role=token.role, groups=token.groups)
        now = datetime.now(UTC)
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            try:
                touch(store, token.id, now)
            except StoreError as exc:  # a read-only replica, say: using it still works
                log.warning("could not record the use of token %s: %s", token.name, exc)
        if self._ttl > 0:
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[_key(text)] = (self._clock() + self._ttl, actor)
        return actor

    def forget(self) -> None:
        """Drop every remembered token (a revocation in this process takes effect at once)."""
        with self._lock:
            self._cache.clear()


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class TokenAuth:
    """ASGI middleware: 401 without a valid bearer token; else the Actor in the scope."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] not in ("http", "websocket") or path.startswith(OPEN_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and is_web_path(path):
            await self.app(scope, receive, send)  # its pages check the session (rb.server.web)
            return
        text = _bearer(scope)
        actor, problem = None, "missing bearer token"
        if text:
            problem = "unknown, revoked or wrong bearer token"
            actor = self.authenticator.cached(text)
            if actor is None:
                try:
                    actor = await run_in_threadpool(self.authenticator.resolve, text)
                except StoreError as exc:
                    response = error_response(503, f"cannot check the token: {exc}")
                    await response(scope, receive, send)
                    return
        if actor is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            message = (
                f"{problem}: send 'Authorization: Bearer <token>' with a token from "
                "rb tokens create (or RB_API_TOKEN)"
            )
            await error_response(401, message, headers=CHALLENGE)(scope, receive, send)
            return
        client = scope.get("client")
        scope[ACTOR_KEY] = replace(actor, origin=str(client[0]) if client else "")
        await self.app(scope, receive, send)


def is_web_path(path: str) -> bool:
    """Whether `path` is one of the web view's (cookie sessions, forms), not the API's."""
    return path in WEB_PAGES or path.startswith(WEB_PREFIXES)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, given = value.partition(b" ")
            if scheme.lower() == b"bearer":
                return given.strip().decode("latin-1") or None
    return None
