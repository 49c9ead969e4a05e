"""`rb serve` holding idle and trickling connections: does /health/live still answer?
(measured, never asserted; tests/security/test_server_connections.py checks that
it answers at all).

Starts `python -m rb serve` in the repository on a free port, opens N idle
connections (connected, nothing sent) and N trickling ones (a request line,
then nothing), then times GET /health/live on fresh connections. With
`--past-limit`, opens more idle connections than `--max-connections` first.

Run: .venv/bin/python -m benchmarks.bench_idle_connections [--idle 1000] [--probes 20]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
from pathlib import Path

import httpx

from tests.services import rb_serve_process

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 1.0


def open_connections(url: str, count: int, first_bytes: bytes) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)))
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def probe(url: str, probes: int) -> list[float]:
    """Seconds each GET /health/live took, on a new connection each time."""
    times = []
    for _ in range(probes):
        started = time.perf_counter()
        response = httpx.get(f"{url}/health/live", timeout=30)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--trickling", type=int, default=500)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--max-connections", type=int, default=4096)
    args = parser.parse_args()
    with rb_serve_process(
        "--no-access-log", "--max-connections", str(args.max_connections), cwd=ROOT
    ) as served:
        baseline = probe(served.url, args.probes)
        idle = open_connections(served.url, args.idle, b"")
        trickling = open_connections(
            served.url, args.trickling, b"GET /health/live HTTP/1.1\r\nHost: x\r\n"
        )
        held = probe(served.url, args.probes)
        for sock in idle + trickling:
            sock.close()
    print(f"rb serve, --max-connections {args.max_connections}")
    for name, times in (
        ("no other connections", baseline),
        (f"{args.idle} idle + {args.trickling} trickling held", held),
    ):
        print(
            f"/health/live, {name}: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms over {len(times)} probes "
            f"(goal under {GOAL_SECONDS:.0f} s: {'met' if max(times) < GOAL_SECONDS else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
