"""Start-up of the `rb` command as whole processes, measured (never asserted).

`rb --help`, `rb validate runbooks/<one>.yaml`, and `python -c pass` as the
interpreter's floor, each run N times as a fresh process; prints min and
median. Goals (issue 13): `rb --help` <= 150 ms, `rb validate` of one
runbook <= 400 ms on the project's machine.

Run: .venv/bin/python -m benchmarks.bench_startup [--repeat N] [--root DIR]
(`--root` measures another checkout, e.g. the one before a change.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNBOOK = "runbooks/entity-enrichment.yaml"


def wall(cmd: list[str], repeat: int, root: Path) -> list[float]:
    """Wall-clock seconds of `repeat` fresh runs of `cmd` from `root`."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=root, env=env, capture_output=True, check=False)
        runs.append(time.perf_counter() - start)
    return runs


def report(label: str, runs: list[float]) -> float:
    """Print min and median in milliseconds; return the median."""
    med = statistics.median(runs)
    print(f"{label:<44} min {min(runs) * 1000:7.1f}  median {med * 1000:7.1f} ms")
    return med


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of each command")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to measure")
    args = parser.parse_args()
    root = args.root.resolve()
    rb = [sys.executable, "-m", "rb"]
    print(f"whole process, {args.repeat} runs each, from {root}")
    floor = report("python -c pass", wall([sys.executable, "-c", "pass"], args.repeat, root))
    helped = report("rb --help", wall([*rb, "--help"], args.repeat, root))
    print(f"{'':<44} = {helped / floor:.1f} x the interpreter floor")
    report(f"rb validate {RUNBOOK}", wall([*rb, "validate", RUNBOOK], args.repeat, root))
    report("rb validate --help", wall([*rb, "validate", "--help"], args.repeat, root))


if __name__ == "__main__":
    main()
