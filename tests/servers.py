"""A small real HTTP server on 127.0.0.1 for live step tests.

Routes (state is per server, and the `http_server` fixture starts one per test):

- GET  /entities           a JSON list of entities (with an `X-Request-Id` header)
- GET  /plain              a text/plain answer
- ANY  /echo...            records the request and answers it back as JSON
- ANY  /status/<code>      answers with that status code
- GET  /flaky/<key>        500 for the first `?failures=N` calls on <key>, then 200
- POST /graphql            echoes query and variables; a `fail_with` variable gives `errors`
- GET  /health             503 "starting" until the `healthy_after`-th call, then 200 "healthy"
- GET  /slow               blocks until the client goes away or `release` is set

Every request is recorded in `requests` (method, path, query, headers, body, json).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENTITIES = [
    {"id": 1, "name": "alpha", "kind": "person"},
    {"id": 2, "name": "beta", "kind": "place"},
    {"id": 3, "name": "gamma", "kind": "person"},
]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: str
    json: Any = None


@dataclass
class ServerState:
    requests: list[Recorded] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # per flaky key
    health_calls: int = 0
    healthy_after: int = 3
    release: threading.Event = field(default_factory=threading.Event)
    slow_started: threading.Event = field(default_factory=threading.Event)
    client_gone: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-answer is expected here (timeouts)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # Plumbing ----------------------------------------------------------------
    def _record(self) -> Recorded:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        parsed = None
        if "json" in (self.headers.get("Content-Type") or "") and body:
            parsed = json.loads(body)
        recorded = Recorded(
            method=self.command,
            path=split.path,
            query={k: v[-1] for k, v in parse_qs(split.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            json=parsed,
        )
        with self.server.state.lock:
            self.server.state.requests.append(recorded)
        return recorded

    def _send(
        self,
        status: int,
        payload: Any,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # Routes ------------------------------------------------------------------
    def _route(self) -> None:
        request = self._record()
        state = self.server.state
        path = request.path
        if path == "/entities":
            self._send(200, ENTITIES, headers={"X-Request-Id": "req-42"})
        elif path == "/plain":
            self._send(200, "just text\n", content_type="text/plain; charset=utf-8")
        elif path.startswith("/echo"):
            self._send(
                200,
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "headers": request.headers,
                    "json": request.json,
                    "body": request.body,
                },
            )
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, {"status": code})
        elif path.startswith("/flaky/"):
            key = path.removeprefix("/flaky/")
            with state.lock:
                state.calls[key] = n = state.calls.get(key, 0) + 1
            if n <= int(request.query.get("failures", "0")):
                self._send(500, {"error": "try again", "call": n})
            else:
                self._send(200, {"ok": True, "call": n})
        elif path == "/graphql" and request.method == "POST":
            self._graphql(request)
        elif path == "/health":
            with state.lock:
                state.health_calls = n = state.health_calls + 1
            if n >= state.healthy_after:
                self._send(200, {"status": "healthy", "calls": n})
            else:
                self._send(503, {"status": "starting", "calls": n})
        elif path == "/slow":
            self._slow()
        else:
            self._send(404, {"error": f"no route {path}"})

    def _graphql(self, request: Recorded) -> None:
        document = request.json or {}
        variables = document.get("variables") or {}
        if "fail_with" in variables:
            self._send(200, {"data": None, "errors": [{"message": variables["fail_with"]}]})
            return
        self._send(
            200, {"data": {"echo": {"query": document.get("query"), "variables": variables}}}
        )

    def _slow(self) -> None:
        """Answer only when released; notice a client that hangs up first."""
        state = self.server.state
        state.slow_started.set()
        conn = self.connection
        while not state.release.is_set():
            readable, _, _ = select.select([conn], [], [], 0.05)
            if readable:
                try:
                    gone = conn.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    state.client_gone.set()
                    self.close_connection = True
                    return
        self._send(200, {"slow": "released"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _route


class TestServer:
    """A running server: `url(path)` builds addresses, `state` is what it saw."""

    __test__ = False  # not a pytest test class

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.state = server.state
        self.port = server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)

    def last(self, path: str) -> Recorded:
        """The last request recorded for `path`."""
        found = [r for r in self.requests if r.path == path]
        assert found, f"no request for {path}; saw {[r.path for r in self.requests]}"
        return found[-1]

    def calls(self, key: str) -> int:
        with self.state.lock:
            return self.state.calls.get(key, 0)


@contextlib.contextmanager
def serve() -> Iterator[TestServer]:
    """Start a server on a free 127.0.0.1 port; stop it (and release /slow) after."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = ServerState()
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},  # how soon shutdown() is noticed
        name="rb-test-http",
        daemon=True,
    )
    thread.start()
    try:
        yield TestServer(server)
    finally:
        server.state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
