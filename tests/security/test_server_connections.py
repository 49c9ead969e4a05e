"""Idle and trickling connections cannot take `rb serve` down: headers have a
deadline, open connections a limit, and the log line they cause a rate."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rb.server import connections
from rb.server.logs import RateLimit

from ..rb_server import Served, config_for, serving

SAFETY_TIMEOUT = 60.0  # only reached when the server never closes: the test fails


@pytest.fixture(params=["httptools", "h11"])
def protocol(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test against both parsers: httptools's, and h11's where httptools is missing."""
    if request.param == "h11":
        monkeypatch.setattr(connections, "_httptools_protocol", lambda: None)
    return str(request.param)


def connect(api: Served) -> socket.socket:
    host, port = api.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(SAFETY_TIMEOUT)
    return sock


@contextlib.contextmanager
def idle_connections(api: Served, count: int) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(connect(api))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def read_response(sock: socket.socket, ending: bytes) -> bytes:
    """Everything up to `ending`: headers and body may come in separate segments."""
    received = b""
    while ending not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


@pytest.mark.usefixtures("protocol")
def test_a_client_that_never_finishes_its_headers_is_disconnected(project: Path) -> None:
    with serving(config_for(project, header_timeout=0.2)) as api:
        sock = connect(api)
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line
        assert closed_by_server(sock)
        sock.close()
        assert api.client.get("/health/live").status_code == 200


@pytest.mark.usefixtures("protocol")
def test_a_client_idle_after_a_response_is_disconnected(project: Path) -> None:
    with serving(config_for(project, header_timeout=0.2, keep_alive_timeout=300)) as api:
        sock = connect(api)
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response = read_response(sock, b'{"status":"live"}')
        assert b"200 OK" in response
        sock.sendall(b"GET /health/live HTTP/1.1\r\n")  # the next request, never finished
        assert closed_by_server(sock)
        sock.close()


@pytest.mark.usefixtures("protocol")
def test_health_answers_while_1000_idle_connections_are_held(project: Path) -> None:
    config = config_for(project, header_timeout=600)
    with serving(config, backlog=2048) as api, idle_connections(api, 1000):
        assert api.client.get("/health/live").json() == {"status": "live"}


@pytest.mark.usefixtures("protocol")
def test_past_the_connection_limit_the_longest_idle_connections_are_closed(
    project: Path,
) -> None:
    config = config_for(project, header_timeout=600, max_connections=20)
    with serving(config) as api, idle_connections(api, 30) as idle:
        # 30 idle and this request make 31: the 11 oldest idle ones make room.
        assert api.client.get("/health/live").status_code == 200
        assert all(closed_by_server(sock) for sock in idle[:11])


def test_malformed_requests_are_logged_at_a_bounded_rate(project: Path) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    with serving(config_for(project)) as api:
        logger.addHandler(handler)
        try:
            for _ in range(40):
                sock = connect(api)
                sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                assert b"400" in sock.recv(4096)
                sock.close()
        finally:
            logger.removeHandler(handler)
    invalid = [r for r in records if "Invalid HTTP request" in r.getMessage()]
    assert 1 <= len(invalid) <= 10


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("burst", [1, 3])
def test_the_rate_limit_says_how_many_lines_it_dropped(burst: int) -> None:
    clock = FakeClock()
    limit = RateLimit(burst=burst, window=60, clock=clock)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.WARNING, "", 0, msg, None, None)

    passed = [limit.filter(record("Invalid HTTP request received.")) for _ in range(100)]
    assert sum(passed) == burst
    assert limit.filter(record("another message"))  # counted apart
    clock.now = 61
    later = record("Invalid HTTP request received.")
    assert limit.filter(later)
    assert later.getMessage().endswith(f"({100 - burst} more like it not logged)")
