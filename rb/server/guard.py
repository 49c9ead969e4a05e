"""Requests a web page in a browser could forge are refused before routing.

A page on any site can make the browser POST to `127.0.0.1:8080` (a form, a
`fetch` in no-cors mode), and a name the attacker controls can be made to
resolve to 127.0.0.1 (DNS rebinding). So, on every endpoint but /health/*:

- the Host header must name this server: 127.0.0.1, localhost or [::1] on
  its port, the address the connection came in on, or an `--allowed-host`;
- an Origin header must be the server's own (browsers send it on every POST);
- a request with a body must say `Content-Type: application/json` (the types
  a page may send without asking are text/plain and forms). Only the web
  view's own POST routes (rb.server.web) take a form
  (`application/x-www-form-urlencoded`), and only with an Origin header; each
  of them checks the session's CSRF token too. No /api route ever takes one.

Bodies are also capped at MAX_BODY_BYTES here, for every endpoint (GraphQL
would otherwise read any size before its query limits apply).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rb.server.auth import OPEN_PREFIX, is_web_path
from rb.server.errors import ApiError, error_response

MAX_BODY_BYTES = 1 << 20
TOO_LARGE = f"request body over {MAX_BODY_BYTES} bytes"

ANY_HOST = "*"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM = "application/x-www-form-urlencoded"


class RequestGuard:
    """ASGI middleware answering 403 (foreign Host or Origin) and 415 (not JSON)."""

    def __init__(self, app: ASGIApp, bound_host: str, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self._bound = _bracketed(bound_host.lower())
        allowed = {h.strip().lower() for h in allowed_hosts if h.strip()}
        self._any = ANY_HOST in allowed
        self._allowed = allowed - {ANY_HOST}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(OPEN_PREFIX):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, _capped(receive), send)
            return
        status, message = refusal
        await error_response(status, message)(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").strip().lower()
        if not self.host_allowed(host, scope.get("server")):
            return 403, (
                f"Host {host or '(none)'!r} is not this server's name; if it is reached "
                "by that name (behind a proxy), start rb serve with --allowed-host NAME"
            )
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin.strip().lower(), host):
            return 403, (
                f"cross-origin request from {origin!r} refused: rb serve answers only "
                "its own pages and clients that are not browsers"
            )
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return 413, TOO_LARGE
        web_post = scope["method"] == "POST" and is_web_path(str(scope.get("path", "")))
        if web_post and origin is None:
            return 403, "a form must be sent from this server's own page (no Origin header)"
        if scope["method"] not in SAFE_METHODS and _has_body(headers):
            media = headers.get("content-type", "").partition(";")[0].strip().lower()
            if media != "application/json" and not (web_post and media == FORM):
                return 415, (
                    f"Content-Type {media or '(none)'!r} refused: send the body as JSON "
                    "with 'Content-Type: application/json'"
                )
        return None

    def host_allowed(self, host: str, server: tuple[str, int] | None) -> bool:
        """Whether a Host header (lower-cased) names this server."""
        if self._any:
            return True
        name, port = _split_host(host)
        if host in self._allowed or name in self._allowed:
            return True
        if server is None:  # not a socket (a test client): nothing to compare with
            return name in LOOPBACK_NAMES or name == self._bound
        local, local_port = server[0], server[1]
        own = {*LOOPBACK_NAMES, self._bound, _bracketed(local.lower())}
        return name in own and (port == local_port or (port is None and local_port == 80))

    def _same_origin(self, origin: str, host: str) -> bool:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (a sandboxed page, a file) and other schemes
        if parts.netloc == host:
            return True
        # Behind a proxy the Origin is the public name, the Host maybe not.
        return parts.netloc in self._allowed or _split_host(parts.netloc)[0] in self._allowed


def _capped(receive: Receive) -> Receive:
    """`receive`, raising a 413 once the body passes MAX_BODY_BYTES (a chunked
    body declares no length)."""
    received = 0

    async def capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise ApiError(413, TOO_LARGE)
        return message

    return capped


def _has_body(headers: dict[str, str]) -> bool:
    length = headers.get("content-length", "").strip()
    return "transfer-encoding" in headers or (length not in ("", "0"))


def _split_host(host: str) -> tuple[str, int | None]:
    """("name", port) from "name:port", "[::1]:port" or "name"."""
    if host.startswith("["):
        name, _, rest = host.partition("]")
        name += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
    elif host.count(":") == 1:
        name, _, port_text = host.partition(":")
    else:
        name, port_text = host, ""
    return name, int(port_text) if port_text.isdigit() else None


def _bracketed(address: str) -> str:
    """An IPv6 address as a Host header writes it."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address
