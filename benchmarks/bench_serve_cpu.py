"""CPU per recorded execution in `rb serve`, old and new side by side (measured, never asserted).

For each source tree given (`--tree DIR`, default this one), start `rb serve
--no-queue` with that tree first on PYTHONPATH (so a worktree of an older
commit can be compared with this one in the same run), post `--requests`
executions of the example runbook's acceptance scenario (fixture mode, waited
for, recorded to SQLite or PostgreSQL) from `--clients` keep-alive connections,
and read the CPU the server process and its writer process used from /proc.
The trees take turns for `--rounds` rounds, so a machine shared with other
work slows each the same; the figures printed are per request, and the ratio
of each tree's median to the first's.

Run: .venv/bin/python -m benchmarks.bench_serve_cpu --tree /path/to/old --tree .
     [--requests 400] [--clients 8] [--rounds 3] [--backend sqlite|postgres]
     [--serve-arg=--workers=2] [--callgrind]

CPU seconds on a machine other work shares vary by tens of percent from run
to run. `--callgrind` counts instructions instead (valgrind's callgrind, which
gives the same count for the same work whatever else runs): the server runs
under it with counting off, is warmed up, counts while `--requests` (say 30)
are served, and prints the server process's instructions per request (all
its threads; not its writer process). Slow: about a second a request.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_serve import STORES
from rb.loadtest.generate import GenerateOptions, render_script
from tests.services import SERVE_BEARER, SERVE_TOKEN, rb_serve_process

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and of its live descendants."""
    total = 0.0
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / TICKS
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            total += sum(process_cpu(int(child)) for child in children)
    return total


def split_cpu(pid: int) -> tuple[float, float]:
    """(the process's own CPU seconds, its descendants')."""
    whole = process_cpu(pid)
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) / TICKS
    return own, whole - own


@dataclass(frozen=True)
class Round:
    server_ms: float  # CPU per request, the server process
    children_ms: float  # its writer process(es) and any worker processes
    rate: float  # requests per second
    p95_ms: float
    errors: int


def post_all(url: str, body: bytes, requests: int, clients: int) -> tuple[list[float], int]:
    """Post `requests` bodies over `clients` keep-alive connections; latencies, errors."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    left = iter(range(requests))
    lock = threading.Lock()

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {"Content-Type": "application/json", **SERVE_BEARER}
        while True:
            with lock:
                if next(left, None) is None:
                    break
            start = time.perf_counter()
            conn.request("POST", "/api/runbooks/execute", body, headers)
            response = conn.getresponse()
            answer = response.read()
            took = time.perf_counter() - start
            ok = response.status == 200 and json.loads(answer).get("status") == "success"
            with lock:
                latencies.append(took)
                errors += not ok
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


@contextlib.contextmanager
def served(tree: Path, backend: str, serve_args: list[str]) -> Iterator[tuple[str, int]]:
    with STORES[backend]() as db:
        env = {"RB_DATABASE_URL": db, "NO_COLOR": "1", "PYTHONPATH": str(tree)}
        args = ["--no-queue", "--no-access-log", *serve_args]
        # In the tree: `python -m` puts the working folder first on the path.
        with rb_serve_process(*args, cwd=tree, env=env, stop_timeout=30) as server:
            yield server.url, server.process.process.pid


def measure(tree: Path, backend: str, body: bytes, args: argparse.Namespace) -> Round:
    with served(tree, backend, args.serve_arg) as (url, pid):
        post_all(url, body, args.clients * 4, args.clients)  # warm: writer started, caches
        own0, kids0 = split_cpu(pid)
        start = time.perf_counter()
        latencies, errors = post_all(url, body, args.requests, args.clients)
        took = time.perf_counter() - start
        own1, kids1 = split_cpu(pid)
    n = len(latencies)
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
    return Round((own1 - own0) * 1000 / n, (kids1 - kids0) * 1000 / n, n / took, p95, errors)


def instructions(tree: Path, backend: str, body: bytes, args: argparse.Namespace) -> float:
    """Instructions per request of the server process, counted by callgrind."""
    import shutil
    import subprocess
    import urllib.request

    from tests.servers import closed_port

    with STORES[backend]() as db, tempfile.TemporaryDirectory(prefix="rb-cg-") as folder:
        port = closed_port()
        out = Path(folder) / "callgrind.out"
        argv = [
            *("valgrind", "--tool=callgrind", "--instr-atstart=no"),
            f"--callgrind-out-file={out}",
            *(sys.executable, "-m", "rb", "serve", "--no-queue", "--no-access-log"),
            *("--port", str(port), *args.serve_arg),
        ]
        env = {
            **os.environ,
            "RB_DATABASE_URL": db,
            "NO_COLOR": "1",
            "PYTHONPATH": str(tree),
            "RB_API_TOKEN": SERVE_TOKEN,
        }
        server = subprocess.Popen(
            argv, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):  # valgrind starts Python slowly
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"{url}/health/live", timeout=5).close()
                    break
                time.sleep(0.5)
            post_all(url, body, args.clients * 2, args.clients)
            control = shutil.which("callgrind_control") or "callgrind_control"
            run = functools.partial(subprocess.run, check=True, capture_output=True)
            run([control, "-i", "on", str(server.pid)])
            _, errors = post_all(url, body, args.requests, args.clients)
            run([control, "-i", "off", str(server.pid)])
            run([control, "-d", str(server.pid)])
        finally:
            server.terminate()
            server.wait(timeout=120)
        total = 0
        for dump in Path(folder).glob("callgrind.out*"):
            for line in dump.read_text(errors="replace").splitlines():
                if line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
        if errors:
            print(f"  {errors} requests failed")
        return total / args.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=sorted(STORES), default="sqlite")
    parser.add_argument("--runbook", default="rb-002-database-failover-check")
    parser.add_argument("--serve-arg", action="append", default=[])
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    os.chdir(ROOT)
    rendered = render_script(args.runbook, GenerateOptions(), output="-")
    body = json.dumps(rendered.request.body()).encode()
    print(
        f"{args.runbook}, {args.backend}: {args.requests} requests from {args.clients} "
        f"connections, {args.rounds} rounds, {os.cpu_count()} CPUs shared"
    )
    if args.callgrind:
        counts = {tree: instructions(tree, args.backend, body, args) for tree in trees}
        first_count = counts[trees[0]]
        for tree, count in counts.items():
            print(f"  {tree}: {count / 1e6:.2f} M instructions/request, {count / first_count:.2f}x")
        return
    results: dict[Path, list[Round]] = {t: [] for t in trees}
    for number in range(args.rounds):
        for tree in trees:
            r = measure(tree, args.backend, body, args)
            results[tree].append(r)
            print(
                f"  round {number + 1} {tree}: server {r.server_ms:.2f} ms + children "
                f"{r.children_ms:.2f} ms CPU/request, {r.rate:.0f} req/s, p95 {r.p95_ms:.0f} ms, "
                f"{r.errors} errors"
            )
    first = statistics.median(r.server_ms + r.children_ms for r in results[trees[0]])
    print()
    # Children: the writer process; with --workers, the server processes and theirs.
    print(f"{'tree':<40}{'server':>9}{'children':>9}{'all':>9}{'ratio':>7}{'req/s':>7}")
    for tree, rounds in results.items():
        server = statistics.median(r.server_ms for r in rounds)
        writer = statistics.median(r.children_ms for r in rounds)
        whole = statistics.median(r.server_ms + r.children_ms for r in rounds)
        rate = statistics.median(r.rate for r in rounds)
        print(
            f"{str(tree)[-40:]:<40}{server:>9.2f}{writer:>9.2f}{whole:>9.2f}"
            f"{whole / first:>7.2f}{rate:>7.0f}"
        )


if __name__ == "__main__":
    main()
