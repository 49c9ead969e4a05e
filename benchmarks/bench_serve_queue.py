"""`rb serve` in queue mode under k6 load, with 1 and then 2 `rb worker` processes
(measured, never asserted).

The seed's scenario as bench_serve.py runs it (the example runbook's acceptance
scenario, fixture mode, 50 virtual users), but each request only queues its
execution (`"wait": false`, `rb loadtest generate --enqueue`): the answer is
202 with the id, and the workers run the executions, recorded to PostgreSQL
(a scratch schema at 127.0.0.1:5432/test). Printed per worker count: the
202's p50/p95/p99 and error rate, and the executions the workers finished
while k6 ran (per second). The queue left when k6 stops is dropped with
the schema.

Run: .venv/bin/python -m benchmarks.bench_serve_queue [--vus 50] [--duration 20s]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.bench_queue import ROOT, workers
from benchmarks.bench_serve import GOAL_P95_MS, error_share, latencies, recorded
from rb.loadtest.generate import GenerateOptions, render_script
from rb.loadtest.k6 import run_script
from rb.loadtest.summary import LoadSummary, load_summary
from rb.service.runs import upgrade_store
from tests.services import POSTGRES_URL, SERVE_TOKEN, postgres_schema, rb_serve_process


def measure(count: int, script: Path, runbook_id: str, scratch: Path) -> tuple[LoadSummary, float]:
    """k6 against a queue-mode rb serve with `count` workers: the summary, and
    executions finished per second while k6 ran."""
    with postgres_schema(POSTGRES_URL, "rb_bench_serve_queue") as db:
        upgrade_store(db=db)
        env = {"RB_DATABASE_URL": db, "NO_COLOR": "1"}
        with (
            workers(db, count, 1),
            rb_serve_process("--no-access-log", cwd=ROOT, env=env, stop_timeout=30) as served,
        ):
            summary = scratch / f"summary-{count}.json"
            before = recorded(db, runbook_id).get("success", 0)
            start = time.perf_counter()
            with (scratch / f"k6-{count}.log").open("w") as k6_log:
                run = run_script(
                    script, summary=summary, url=served.url, out=k6_log, token=SERVE_TOKEN
                )
            took = time.perf_counter() - start
            after = recorded(db, runbook_id)
            print(f"  k6 exit code {run.exit_code} (99: a threshold crossed)")
            print(f"  store: {after} executions by status when k6 stopped")
        return load_summary(summary), (after.get("success", 0) - before) / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--runbook", default="rb-002-database-failover-check")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts to measure, e.g. 0,1,2 (0: only queueing)"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    os.chdir(ROOT)
    rendered = render_script(
        args.runbook,
        GenerateOptions(vus=args.vus, duration=args.duration, p95_ms=GOAL_P95_MS, enqueue=True),
        output="-",
    )
    print(
        f"{args.runbook}: {rendered.request.source()}, queued with 202; "
        f"{rendered.load.describe()}; {os.cpu_count()} CPUs shared by rb serve, the workers, "
        "k6 and PostgreSQL"
    )
    results: dict[int, tuple[LoadSummary, float]] = {}
    with tempfile.TemporaryDirectory(prefix="rb-bench-serve-queue-") as folder:
        scratch = Path(folder)
        script = scratch / "bench.js"
        script.write_text(rendered.text, encoding="utf-8")
        for count in counts:
            print(f"{count} worker(s):")
            results[count] = measure(count, script, args.runbook, scratch)
    print()
    print(
        f"{'workers':<8}{'requests':>9}{'req/s':>8}{'p50':>10}{'p95':>10}{'p99':>10}"
        f"{'errors':>9}{'exec/s':>8}"
    )
    for count, (r, rate) in results.items():
        errors = error_share(r)
        print(
            f"{count:<8}{r.requests:>9}{r.request_rate:>8.1f}{latencies(r)}"
            f"{errors * 100:>8.2f}%{rate:>8.1f}"
        )
    for count, (r, _rate) in results.items():
        errors = error_share(r)
        met = r.requests > 0 and r.p95_ms is not None and r.p95_ms <= GOAL_P95_MS and errors == 0
        print(
            f"goal 202 p95 <= {GOAL_P95_MS:g} ms, no errors, {count} worker(s): "
            + ("met" if met else "NOT met")
        )
    if 1 in results and 2 in results:
        print(
            f"executions/s, 2 workers / 1 worker: {results[2][1] / max(results[1][1], 1e-9):.2f}x"
        )


if __name__ == "__main__":
    main()
