"""Web view sessions: an opaque id in a cookie, the API token it stands for kept here.

Signing in at /login with an API token makes a session: a random id (the
cookie's value) mapped in this process's memory to the token and to a random
CSRF token every form of the session carries. The cookie is HttpOnly,
SameSite=Strict, Path=/, and Secure when the request came over https. Each
request resolves the token again (rb/server/auth.py), so a revoked token ends
its sessions; a session also ends at /logout, after SESSION_SECONDS, or when
the server restarts.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection
from starlette.responses import Response

COOKIE = "rb_session"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 10_000  # past it the oldest session ends


@dataclass(frozen=True)
class Session:
    """One signed-in browser: its id (the cookie), its token, its CSRF token."""

    id: str = field(repr=False)
    token: str = field(repr=False)
    csrf: str = field(repr=False)
    expires: float

    def csrf_matches(self, given: str | None) -> bool:
        """Whether a form's CSRF field is this session's (in constant time)."""
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    """The sessions of this server process (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._live: OrderedDict[str, Session] = OrderedDict()

    def create(self, token: str) -> Session:
        """A new session for `token`."""
        session = Session(
            id=secrets.token_urlsafe(32),
            token=token,
            csrf=secrets.token_urlsafe(32),
            expires=self._clock() + SESSION_SECONDS,
        )
        with self._lock:
            while len(self._live) >= MAX_SESSIONS:
                self._live.popitem(last=False)
            self._live[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (None: unknown, ended or expired)."""
        if not session_id:
            return None
        with self._lock:
            session = self._live.get(session_id)
            if session is not None and session.expires <= self._clock():
                del self._live[session_id]
                return None
        return session

    def end(self, session_id: str) -> None:
        """End a session (logout, or its token no longer valid)."""
        with self._lock:
            self._live.pop(session_id, None)


def sessions_of(connection: HTTPConnection) -> Sessions:
    """The server's sessions (made by `create_app`)."""
    found = connection.app.state.web_sessions
    assert isinstance(found, Sessions)
    return found


def over_https(connection: HTTPConnection) -> bool:
    """Whether the browser reached us over https (directly, or through a proxy that says so)."""
    forwarded = connection.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return connection.url.scheme == "https" or forwarded == "https"


def set_cookie(response: Response, connection: HTTPConnection, session: Session) -> None:
    """Give the browser the session's cookie."""
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=SESSION_SECONDS,
        path="/",
        secure=over_https(connection),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, connection: HTTPConnection) -> None:
    """Make the browser forget the session's cookie."""
    response.delete_cookie(
        COOKIE, path="/", secure=over_https(connection), httponly=True, samesite="strict"
    )
