"""Resuming a long run costs a fraction of running it (measured, never asserted).

A live, recorded chain of N shell steps (`echo`, each reading the previous
step's output) whose last step fails the first time (a flag file is
missing). The flag is then created and the execution resumed: steps 1 to
N-1 are restored from the recording, only step N runs. Printed: the time of
the first run, of the resume (reading the recording, restoring, running one
step, recording), and their ratio; the goal is under 10 %.

Run: .venv/bin/python -m benchmarks.bench_resume [--steps 1000] [--repeat 3] [--db URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rb.loader import load_text
from rb.service.durable import resume
from rb.service.request import Recording, RunRequest
from rb.service.runbooks import require_valid
from rb.service.runner import execute, live_world
from rb.store.database import open_store


def chain(n: int, flag: Path) -> str:
    """N shell steps, each echoing the previous one's output; the last needs `flag`."""
    lines = ["id: resume-bench", "name: Resume benchmark", 'version: "1"', "steps:"]
    for i in range(n - 1):
        args = f'["{i}"' + (f', "${{steps.s{i - 1}.outputs.value}}"' if i else "") + "]"
        dep = f", depends_on: [s{i - 1}]" if i else ""
        lines.append(
            f"  - {{id: s{i}, type: shell, inputs: {{command: echo, args: {args}}}, "
            f'outputs: {{value: "${{result.stdout}}"}}{dep}}}'
        )
    last = n - 1
    lines.append(
        f"  - {{id: s{last}, type: shell, depends_on: [s{last - 1}], "
        f'inputs: {{command: test, args: ["-f", "{flag}"]}}}}'
    )
    return "\n".join(lines) + "\n"


def once(n: int, db: str, folder: Path) -> tuple[float, float]:
    flag = folder / "flag"
    flag.unlink(missing_ok=True)
    runbook = require_valid(load_text(chain(n, flag), str(folder / "chain.yaml")))
    store = open_store(db)
    world = live_world(secrets={}, facts={})
    began = time.perf_counter()
    first = execute(RunRequest(runbook, world, params={}, recording=Recording(store=store)))
    ran = time.perf_counter() - began
    assert first.result.status == "failure", first.result.error
    assert first.execution_id is not None
    flag.touch()
    began = time.perf_counter()
    again = resume(first.execution_id, store=store, world=live_world(secrets={}, facts={}))
    resumed = time.perf_counter() - began
    assert again.result.status == "success", again.result.error
    restored = sum(1 for o in again.result.steps.values() if o.restored)
    assert restored == n - 1, restored
    return ran, resumed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = args.db or f"sqlite:///{folder}/store.db"
        rounds = [once(args.steps, db, folder) for _ in range(args.repeat)]
    runs = [r for r, _ in rounds]
    resumes = [s for _, s in rounds]
    ratios = [s / r for r, s in rounds]
    print(f"store: {db.split(':')[0]}; {args.steps} shell steps; {args.repeat} rounds")
    print(f"first run (fails at step {args.steps}): median {statistics.median(runs):.3f} s")
    print(f"resume after step {args.steps - 1}:      median {statistics.median(resumes):.3f} s")
    print(
        f"resume / run: median {statistics.median(ratios):.1%} "
        f"(range {min(ratios):.1%}-{max(ratios):.1%}); goal under 10 %"
    )


if __name__ == "__main__":
    main()
