"""Executions through the procrastinate queue and `rb worker` (measured, never asserted).

In a scratch PostgreSQL schema (127.0.0.1:5432/test), with the project's
example runbook run in fixture mode (its acceptance scenario's inputs and
fixture; recorded to PostgreSQL):

- enqueue-to-start latency: one idle worker; one execution queued at a time,
  waited for, then the next; the time from procrastinate's `deferred` event
  to its `started` event (both the database's clock), p50/p95/max;
- throughput: W workers (1, then 2) started and idle; N executions queued
  as fast as one thread can; the time from the first enqueue to the last
  execution's end, executions per second, and the workers' CPU per
  execution (from /proc, user + system).

Run: .venv/bin/python -m benchmarks.bench_queue [--executions 200] [--latency-rounds 50]
     [--runbook rb-002-database-failover-check] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy

from rb.loadtest.script import request_for
from rb.service.enqueue import enqueue
from rb.service.queue_app import queue_app
from rb.service.request import Recording
from rb.service.runbooks import find_runbook, load_valid_runbook
from rb.service.runner import fixture_request
from rb.service.runs import upgrade_store
from rb.store.database import open_store
from rb.world.fixture_format import load_fixture
from rb.world.live import driver_url
from tests.services import POSTGRES_URL, LoggedProcess, postgres_schema

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def workers(db: str, count: int, concurrency: int) -> Iterator[list[LoggedProcess]]:
    """`count` rb worker processes on `db`, each up and registered; stopped after."""
    started = []
    try:
        for i in range(count):
            process = LoggedProcess(
                [
                    sys.executable,
                    "-m",
                    "rb",
                    "worker",
                    "--db",
                    db,
                    "--project",
                    str(ROOT),
                    "--name",
                    f"bench-{i}",
                    "--concurrency",
                    str(concurrency),
                    "--no-schedules",
                ],
                name=f"rb worker {i}",
                env={**os.environ, "NO_COLOR": "1"},
                cwd=ROOT,
            )
            started.append(process)
            process.wait_for_line("started as worker", timeout=60)
        yield started
    finally:
        for process in started:
            process.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    """The runbook's queued request, and the store and queue it goes to."""

    def __init__(self, db: str, runbook: str) -> None:
        self.db = db
        self.store = open_store(db)
        path = find_runbook(runbook)
        self.book = load_valid_runbook(str(path))
        self.path = os.path.relpath(path.resolve(), ROOT)
        request, _note = request_for(self.book)
        assert request.fixture is not None, "the benchmark runs a fixture scenario"
        self.fixture = request.fixture
        self.request = fixture_request(
            self.book,
            load_fixture(request.fixture),
            params=request.inputs,
            recording=Recording(store=self.store),
            actor="bench",
            baselines=False,
        )
        self.engine = sqlalchemy.create_engine(driver_url(db))

    def enqueue(self, app: object) -> str:
        done = enqueue(app, self.request, runbook_path=self.path, fixture=self.fixture)  # type: ignore[arg-type]
        return done.execution_id

    def count(self, status: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sqlalchemy.text("SELECT count(*) FROM runbook_executions WHERE status = :s"),
                    {"s": status},
                ).scalar_one()
            )

    def unfinished(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sqlalchemy.text(
                        "SELECT count(*) FROM runbook_executions "
                        "WHERE status IN ('queued', 'running')"
                    )
                ).scalar_one()
            )

    def keep_events(self) -> None:
        """Copy procrastinate's job events as they happen: workers delete a
        succeeded job, and its events with it."""
        with self.engine.begin() as conn:
            conn.execute(
                sqlalchemy.text(
                    "CREATE TABLE bench_events (job_id bigint, type text, at timestamptz)"
                )
            )
            conn.execute(
                sqlalchemy.text(
                    "CREATE FUNCTION bench_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN INSERT INTO bench_events VALUES (NEW.job_id, NEW.type, NEW.at); "
                    "RETURN NEW; END $$"
                )
            )
            conn.execute(
                sqlalchemy.text(
                    "CREATE TRIGGER bench_keep AFTER INSERT ON procrastinate_events "
                    "FOR EACH ROW EXECUTE FUNCTION bench_keep()"
                )
            )

    def start_delays(self) -> list[float]:
        """Seconds from each job's `deferred` to its `started` event."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text(
                    "SELECT extract(epoch FROM s.at - d.at) FROM bench_events d "
                    "JOIN bench_events s ON s.job_id = d.job_id AND s.type = 'started' "
                    "WHERE d.type = 'deferred'"
                )
            )
            return [float(r[0]) for r in rows]

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sqlalchemy.text("DELETE FROM bench_events"))


def wait_until(condition: object, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the workers")
        time.sleep(0.005)


def latency(bench: Bench, rounds: int, concurrency: int) -> list[float]:
    with workers(bench.db, 1, concurrency), queue_app(bench.db, max_size=2).open() as app:
        bench.enqueue(app)  # warm-up: imports and caches in the worker
        wait_until(lambda: bench.unfinished() == 0)
        bench.clear()
        for _ in range(rounds):
            bench.enqueue(app)
            wait_until(lambda: bench.unfinished() == 0)
        return bench.start_delays()


def throughput(bench: Bench, count: int, n: int, concurrency: int) -> tuple[float, float]:
    """(executions per second, worker CPU seconds per execution) for `n` executions."""
    with (
        workers(bench.db, count, concurrency) as started,
        queue_app(bench.db, max_size=2).open() as app,
    ):
        for _ in range(count * concurrency):  # warm every worker thread up
            bench.enqueue(app)
        wait_until(lambda: bench.unfinished() == 0)
        cpu_before = sum(cpu_seconds(p.process.pid) for p in started)
        done_before = bench.count("success")
        start = time.perf_counter()
        for _ in range(n):
            bench.enqueue(app)
        wait_until(lambda: bench.unfinished() == 0)
        took = time.perf_counter() - start
        cpu = sum(cpu_seconds(p.process.pid) for p in started) - cpu_before
        succeeded = bench.count("success") - done_before
        if succeeded != n:
            print(f"  warning: {succeeded} of {n} executions succeeded")
        return n / took, cpu / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--latency-rounds", type=int, default=50)
    parser.add_argument("--runbook", default="rb-002-database-failover-check")
    parser.add_argument("--concurrency", type=int, default=1, help="per worker")
    args = parser.parse_args()
    os.chdir(ROOT)
    print(f"{os.cpu_count()} CPUs shared by the workers, this process and PostgreSQL")
    results = {}
    with postgres_schema(POSTGRES_URL, "rb_bench_queue") as db:
        upgrade_store(db=db)
        bench = Bench(db, args.runbook)
        bench.keep_events()
        print(f"{args.runbook} ({bench.path}) in fixture mode, recorded to PostgreSQL")
        delays = sorted(d * 1000 for d in latency(bench, args.latency_rounds, args.concurrency))
        p95 = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
        print(
            f"enqueue-to-start, 1 idle worker, {len(delays)} rounds: "
            f"p50 {statistics.median(delays):.1f} ms, p95 {p95:.1f} ms, max {delays[-1]:.1f} ms"
        )
        for count in (1, 2):
            rate, cpu = throughput(bench, count, args.executions, args.concurrency)
            results[count] = rate
            print(
                f"{count} worker(s) x concurrency {args.concurrency}: {args.executions} "
                f"executions, {rate:.1f} executions/s, {cpu * 1000:.1f} ms worker CPU each"
            )
    print(f"2 workers / 1 worker: {results[2] / results[1]:.2f}x")


if __name__ == "__main__":
    main()
