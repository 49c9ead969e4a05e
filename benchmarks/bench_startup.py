"""Start-up of the `rb` command as whole processes, measured (never asserted).

`rb --help`, `rb validate runbooks/<one>.yaml`, and `python -c pass` as the
interpreter's floor, each run N times as a fresh process; prints wall-clock
min and median, and the median CPU time (user + system) of the process: on a
machine shared with other work the CPU time moves least. Goals (issue 13):
`rb --help` <= 150 ms, `rb validate` of one runbook <= 400 ms on the
project's machine.

Run: .venv/bin/python -m benchmarks.bench_startup [--repeat N] [--root DIR]
(`--root` measures another checkout, e.g. the one before a change.)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNBOOK = "runbooks/entity-enrichment.yaml"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(cmd: list[str], repeat: int, root: Path) -> list[tuple[float, float]]:
    """(wall-clock, CPU) seconds of `repeat` fresh runs of `cmd` from `root`."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    runs = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        subprocess.run(cmd, cwd=root, env=env, capture_output=True, check=False)
        runs.append((time.perf_counter() - start, _cpu() - cpu))
    return runs


def report(label: str, runs: list[tuple[float, float]]) -> float:
    """Print wall min and median and CPU median in milliseconds; return the wall median."""
    walls = [w for w, _ in runs]
    med = statistics.median(walls)
    cpu = statistics.median(c for _, c in runs)
    print(
        f"{label:<44} min {min(walls) * 1000:7.1f}  median {med * 1000:7.1f}  "
        f"cpu {cpu * 1000:7.1f} ms"
    )
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
