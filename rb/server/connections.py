"""Connections that cannot take the server down by staying open.

uvicorn closes a connection idle *between* requests (its keep-alive
timeout) but gives a client that never finishes its request headers all the
time it wants, and accepts connections until file descriptors run out; then
`/health/live` stops answering. `guarded_protocol` adds to uvicorn's
httptools protocol (h11's where httptools is missing):

- a header timeout: from connecting (or from the end of the previous
  response) a client has `header_timeout` seconds to send a request's
  headers, however slowly the bytes trickle in; then it is disconnected;
- a connection limit: past `max_connections` open connections, the one that
  has waited longest without a request is closed to make room (a new client
  is refused only when every connection is busy with a request).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from rb.server.config import ServerConfig

log = logging.getLogger("rb.server.connections")
_arrivals = itertools.count()  # orders waits begun in the same loop tick


class _Guard:
    """The header timeout and the connection limit, for either of uvicorn's protocols.

    Mixed in before the protocol class: it relies on the protocol's
    `connections`, `transport` and `loop`, and calls `_await_headers` when a
    client may start a request and `_headers_arrived` when its headers have.
    """

    header_timeout = 10.0
    max_connections = 4096
    connections: set[Any]
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since: float | None = None  # loop time; None while serving a request
        self._arrival = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if len(self.connections) >= self.max_connections and not self._make_room():
            log.warning(
                "%d connections open, all busy: refusing new ones (--max-connections)",
                len(self.connections),
            )
            transport.close()
            return
        super().connection_made(transport)  # type: ignore[misc]
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:  # refused in connection_made
            return
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self.transport is None:
            return
        super().data_received(data)  # type: ignore[misc]

    def _headers_arrived(self) -> None:
        self.waiting_since = None

    def _await_headers(self) -> None:
        self.waiting_since = self.loop.time()
        self._arrival = next(_arrivals)
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self.waiting_since is None or self.transport.is_closing():
            return
        left = self.waiting_since + self.header_timeout - self.loop.time()
        if left > 0:  # the wait started again after the timer was set
            self._header_timer = self.loop.call_later(left, self._header_deadline)
            return
        self.transport.close()

    def _make_room(self) -> bool:
        """Close the connection waiting longest for a request; False if none waits."""
        waiting = [
            c for c in self.connections if isinstance(c, _Guard) and c.waiting_since is not None
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: (c.waiting_since or 0.0, c._arrival))
        oldest.waiting_since = None
        self.connections.discard(oldest)  # counted out now; closing completes later
        oldest.transport.close()
        log.warning(
            "connection limit %d reached: closed the longest-idle connection",
            self.max_connections,
        )
        return True


class GuardedH11Protocol(_Guard, H11Protocol):
    """uvicorn's h11 protocol with a header timeout and a connection limit."""

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._headers_arrived()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_headers()


def _httptools_protocol() -> type[asyncio.Protocol] | None:
    """uvicorn's httptools protocol with the guard (None without httptools).

    httptools parses in C: about 2.5 % less CPU per execution request than h11
    (benchmarks/RESULTS.md, issue 16).
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency
        return None

    class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
        """uvicorn's httptools protocol with a header timeout and a connection limit."""

        def on_headers_complete(self) -> None:
            self._headers_arrived()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            pipelined = bool(self.pipeline)  # its headers are in: no wait starts
            super().on_response_complete()
            if not self.transport.is_closing() and not pipelined:
                self._await_headers()

    return GuardedHttpToolsProtocol


def guarded_protocol(header_timeout: float, max_connections: int) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's `http` setting, with these limits:
    httptools's parser where it is installed, else h11's."""
    base = _httptools_protocol() or GuardedH11Protocol
    return type(
        "RbHttpProtocol",
        (base,),
        {"header_timeout": header_timeout, "max_connections": max_connections},
    )


def uvicorn_options(config: ServerConfig) -> dict[str, Any]:
    """The uvicorn settings `rb serve` runs with (and the tests' server too)."""
    return {
        "http": guarded_protocol(config.header_timeout, config.max_connections),
        "timeout_keep_alive": config.keep_alive_timeout,
    }
