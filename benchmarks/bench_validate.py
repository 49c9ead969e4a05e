"""Cold start and validation speed, measured (never asserted).

- whole-process `python -c pass` (the interpreter's floor), `rb --help`, and
  `rb validate runbooks/`;
- loading + validating generated chain and fan runbooks of 100, 1,000 and
  10,000 steps: in-process (imports excluded, best of runs) and whole-process.

Run: .venv/bin/python -m benchmarks.bench_validate [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.gen_runbook import runbook_text
from rb.loader import load_file
from rb.plugins import step_types
from rb.validate import validate_loaded

ROOT = Path(__file__).resolve().parent.parent
RB = str(Path(sys.executable).parent / "rb")


def wall(cmd: list[str], repeat: int) -> list[float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
        runs.append(time.perf_counter() - start)
    return runs


def report(label: str, runs: list[float]) -> float:
    med = statistics.median(runs)
    print(f"{label:<36} min {min(runs) * 1000:7.1f}  median {med * 1000:7.1f} ms")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print("whole process (cold start)")
    floor = report("python -c pass", wall([sys.executable, "-c", "pass"], args.repeat))
    helped = report("rb --help", wall([RB, "--help"], args.repeat))
    print(f"{'':<36} rb --help = {helped / floor:.1f} x the interpreter floor")
    report("rb validate runbooks/", wall([RB, "validate", "runbooks/"], args.repeat))

    types = step_types()
    folder = Path(tempfile.mkdtemp(prefix="rb-bench-"))
    print("\nvalidation of generated runbooks")
    print(f"{'shape':<7}{'steps':>7}{'in-process ms':>15}{'us/step':>9}{'process ms':>12}")
    per_shape: dict[str, dict[int, float]] = {}
    for shape in ("chain", "fan"):
        for n in (100, 1000, 10000):
            path = folder / f"{shape}-{n}.yaml"
            path.write_text(runbook_text(n, shape))
            validate_loaded(load_file(path), types)  # warm: imports, compiled validators
            runs = []
            for _ in range(max(3, args.repeat // 4)):
                start = time.perf_counter()
                report_ = validate_loaded(load_file(path), types)
                runs.append(time.perf_counter() - start)
                assert not report_.diagnostics, report_.diagnostics[:3]
            best = min(runs)
            per_shape.setdefault(shape, {})[n] = best
            process = statistics.median(wall([RB, "validate", str(path)], 3))
            print(
                f"{shape:<7}{n:>7}{best * 1000:>15.1f}{best / n * 1e6:>9.1f}{process * 1000:>12.1f}"
            )
    for shape, times in per_shape.items():
        print(f"{shape}: 10,000 / 1,000 steps = {times[10000] / times[1000]:.1f} (10.0 is linear)")


if __name__ == "__main__":
    main()
