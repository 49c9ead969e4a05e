"""`rb serve` under k6 load, recording to SQLite and to PostgreSQL (measured, never asserted).

For each store backend: start `rb serve` on a free 127.0.0.1 port with the
store at a scratch location (a SQLite file in a temporary folder; a scratch
schema in PostgreSQL at 127.0.0.1:5432/test), generate a k6 script for an
example runbook's acceptance scenario (fixture mode: the outside world is
served from the fixture), run it with the real k6 binary (50 virtual users
for 60 s by default) and print p50/p95/p99 latency, requests per second, the
error rates and how many executions the store recorded.

Run: .venv/bin/python -m benchmarks.bench_serve [--vus 50] [--duration 60s]
     [--runbook rb-002-database-failover-check] [--backend sqlite --backend postgres]
     [--serve-arg=--workers=2] [--tree DIR --tree DIR]
A trial: --vus 5 --duration 5s. Each --tree (a source folder, e.g. a worktree
of an older commit) serves in turn, first on PYTHONPATH, so old and new are
measured side by side in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy

from rb.loadtest.generate import GenerateOptions, render_script
from rb.loadtest.k6 import run_script
from rb.loadtest.summary import LoadSummary, load_summary
from rb.world.live import driver_url
from tests.services import POSTGRES_URL, SERVE_TOKEN, postgres_schema, rb_serve_process

ROOT = Path(__file__).resolve().parent.parent
GOAL_P95_MS = 100.0  # the queue's 202 (issue 15, bench_serve_queue)
GOAL_WAITED_P95_MS = 150.0  # a waited execution, answered with its record (issue 16)


@contextlib.contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="rb-bench-serve-") as folder:
        yield f"sqlite:///{folder}/serve.db"


def postgres_store() -> contextlib.AbstractContextManager[str]:
    """A scratch schema, dropped afterwards; the URL sets it as the search path."""
    return postgres_schema(POSTGRES_URL, "rb_bench_serve")


STORES = {"sqlite": sqlite_store, "postgres": postgres_store}


def recorded(db: str, runbook_id: str) -> dict[str, int]:
    """Executions of `runbook_id` in the store, by status."""
    engine = sqlalchemy.create_engine(driver_url(db))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text(
                    "SELECT status, count(*) FROM runbook_executions "
                    "WHERE runbook_id = :id GROUP BY status"
                ),
                {"id": runbook_id},
            )
            return {str(status): int(n) for status, n in rows}
    finally:
        engine.dispose()


def children_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    backend: str, script: Path, runbook_id: str, scratch: Path, serve: Serve
) -> LoadSummary:
    with STORES[backend]() as db:
        # Stopped with SIGTERM (killed 30 s later); a failed start shows its log.
        # In-process executions (the thread pool), as before the queue: with
        # PostgreSQL rb serve would queue them for workers (bench_serve_queue.py).
        env = {"RB_DATABASE_URL": db, "NO_COLOR": "1", **serve.env}
        # In the tree: `python -m` puts the working folder first on the path.
        with rb_serve_process(
            "--no-queue", *serve.args, cwd=serve.tree or ROOT, env=env, stop_timeout=30
        ) as served:
            summary = scratch / f"summary-{backend}.json"
            before_k6 = children_cpu()
            with (scratch / f"k6-{backend}.log").open("w") as k6_log:
                run = run_script(
                    script, summary=summary, url=served.url, out=k6_log, token=SERVE_TOKEN
                )
            after_k6 = children_cpu()
            print(f"  k6 exit code {run.exit_code} (99: a threshold crossed)")
        # rb serve has been waited for now: its CPU (start-up included) is counted.
        serve_cpu = children_cpu() - after_k6
        report = load_summary(summary)
        per_request = 1000 / max(report.requests, 1)
        print(
            f"  CPU: rb serve {serve_cpu:.1f} s ({serve_cpu * per_request:.1f} ms/request), "
            f"k6 {after_k6 - before_k6:.1f} s ({(after_k6 - before_k6) * per_request:.1f} "
            "ms/request)"
        )
        print(f"  store: {recorded(db, runbook_id)} executions by status")
    return report


@dataclass(frozen=True)
class Serve:
    """How rb serve is started: its extra options, and a source tree to run."""

    args: tuple[str, ...] = ()
    tree: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        return {} if self.tree is None else {"PYTHONPATH": str(self.tree)}

    def label(self, backend: str) -> str:
        return " ".join([backend, *([self.tree.name] if self.tree else []), *self.args])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--runbook", default="rb-002-database-failover-check")
    parser.add_argument("--backend", action="append", choices=sorted(STORES))
    parser.add_argument("--serve-arg", action="append", default=[], help="an rb serve option")
    parser.add_argument("--tree", action="append", type=Path, help="a source folder to serve")
    args = parser.parse_args()
    serves = [Serve(tuple(args.serve_arg), t.resolve()) for t in args.tree or []] or [
        Serve(tuple(args.serve_arg))
    ]
    backends = args.backend or ["sqlite", "postgres"]
    os.chdir(ROOT)  # packs and fixtures are found relative to the project
    rendered = render_script(
        args.runbook,
        GenerateOptions(vus=args.vus, duration=args.duration, p95_ms=GOAL_WAITED_P95_MS),
        output="-",
    )
    print(
        f"{args.runbook}: {rendered.request.source()}; {rendered.load.describe()}; "
        f"{os.cpu_count()} CPUs shared by rb serve, k6 and the store"
    )
    results: dict[str, LoadSummary] = {}
    with tempfile.TemporaryDirectory(prefix="rb-bench-serve-") as folder:
        scratch = Path(folder)
        script = scratch / "bench.js"
        script.write_text(rendered.text, encoding="utf-8")
        for backend in backends:
            for serve in serves:
                label = serve.label(backend)
                print(f"{label}:")
                results[label] = measure(backend, script, args.runbook, scratch, serve)
    print()
    print(
        f"{'backend':<24}{'requests':>9}{'req/s':>8}{'p50':>10}{'p95':>10}{'p99':>10}{'errors':>9}"
    )
    for backend, r in results.items():
        errors = error_share(r)
        print(
            f"{backend:<24}{r.requests:>9}{r.request_rate:>8.1f}{latencies(r)}{errors * 100:>8.2f}%"
        )
    for backend, r in results.items():
        errors = error_share(r)
        met = (
            r.requests > 0
            and r.p95_ms is not None
            and r.p95_ms <= GOAL_WAITED_P95_MS
            and errors == 0
        )
        print(
            f"goal p95 <= {GOAL_WAITED_P95_MS:g} ms with no errors, {backend}: "
            + ("met" if met else "NOT met")
        )


def ms_text(value: float | None) -> str:
    """A latency for the tables: `12.3 ms`, or `n/a`."""
    return "n/a" if value is None else f"{value:.1f} ms"


def latencies(r: LoadSummary) -> str:
    """p50, p95 and p99 as the tables' three right-aligned columns."""
    return "".join(f"{ms_text(v):>10}" for v in (r.p50_ms, r.p95_ms, r.p99_ms))


def error_share(r: LoadSummary) -> float:
    """The larger of the HTTP error rate and the failed-execution rate."""
    return max(r.http_error_rate or 0.0, r.failed_execution_rate or 0.0)


if __name__ == "__main__":
    main()
