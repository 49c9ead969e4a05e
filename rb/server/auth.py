"""Bearer-token authentication: with `RB_API_TOKEN` set, every endpoint but
`/health/*` needs `Authorization: Bearer <token>`.

One shared token guards the API (the actor a request names is taken at its
word). Tokens are compared in constant time, so response timing does not
reveal how much of a guess was right.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from rb.server.errors import error_response

OPEN_PREFIX = "/health/"  # probes must work without the token


class BearerAuth:
    """ASGI middleware answering 401 (JSON) to requests without the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = error_response(
            401,
            "missing or wrong bearer token: send Authorization: Bearer <RB_API_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="rb"'},
        )
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        if str(scope.get("path", "")).startswith(OPEN_PREFIX):
            return True
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, given = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    return hmac.compare_digest(given.strip(), self._token)
        return False
