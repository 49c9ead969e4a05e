"""Engine overhead and concurrency, measured (never asserted).

- chain and fan-out of 1,000 and 10,000 no-op steps (wait 0 s) under a fixture
  world: wall time per step is the engine's own overhead;
- 50 independent steps each waiting 200 ms, unbounded, live (real time);
- 200 steps of 100 ms with max_parallel 10, live: ideal 2 s;
- a whole-process `rb test` of each example with its golden fixture.

Run: .venv/bin/python benchmarks/bench_engine.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rb.engine.scheduler import execute
from rb.loader import load_text
from rb.model import Runbook
from rb.plugins import step_types
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data
from rb.world.live import LiveWorld

ROOT = Path(__file__).resolve().parent.parent


def make_runbook(n: int, shape: str, seconds: float = 0.0) -> Runbook:
    """n wait steps: a chain, a fan-out/fan-in, or all independent."""
    lines = ["id: bench", "name: bench", 'version: "1"', "steps:"]
    for i in range(n):
        if shape == "chain":
            deps = [f"s{i - 1}"] if i else []
        elif shape == "fan":
            deps = ["s0"] if 0 < i < n - 1 else ([f"s{j}" for j in range(1, n - 1)] if i else [])
        else:
            deps = []
        dep = f", depends_on: [{', '.join(deps)}]" if deps else ""
        lines.append(f"  - {{id: s{i}, type: wait, inputs: {{seconds: {seconds}}}{dep}}}")
    loaded = load_text("\n".join(lines) + "\n")
    assert loaded.runbook is not None, loaded.diagnostics
    return loaded.runbook


def timed(runbook: Runbook, world: FixtureWorld | LiveWorld, max_parallel: int | None) -> float:
    types = step_types()
    start = time.perf_counter()
    result = world.run(
        lambda: execute(runbook, world, params={}, step_types=types, max_parallel=max_parallel)
    )
    elapsed = time.perf_counter() - start
    assert result.status == "success", result.error
    return elapsed


def overhead(repeat: int) -> None:
    print("engine overhead, no-op steps, fixture world (min of runs)")
    print(f"{'shape':<8}{'steps':>8}{'total ms':>12}{'us/step':>10}")
    for shape in ("chain", "fan"):
        for n in (1000, 10000):
            book = make_runbook(n, shape)
            best = min(timed(book, FixtureWorld(from_data({})), None) for _ in range(repeat))
            print(f"{shape:<8}{n:>8}{best * 1000:>12.1f}{best / n * 1e6:>10.1f}")


def concurrency(repeat: int) -> None:
    print("\nlive concurrency (real time)")
    cases = [
        ("50 x 200 ms, unbounded", 50, 0.2, None, 0.2),
        ("200 x 100 ms, max-parallel 10", 200, 0.1, 10, 2.0),
    ]
    for label, n, seconds, limit, ideal in cases:
        book = make_runbook(n, "independent", seconds)
        runs = [timed(book, LiveWorld(env={}), limit) for _ in range(repeat)]
        med = statistics.median(runs)
        print(f"{label:<32} median {med:.3f} s  ideal {ideal:.1f} s  ratio {med / ideal:.3f}")


def whole_process(repeat: int) -> None:
    from rb.world.fixture_format import load_fixture

    rb = Path(sys.executable).parent / "rb"
    fixtures = sorted((ROOT / "fixtures").glob("*.*"))
    if not fixtures:
        print("\nno fixtures/ yet: skipping whole-process rb test")
        return
    print("\nwhole-process rb test of each golden fixture (median of runs)")
    for fixture in fixtures:
        runbook = load_fixture(fixture).runbook or ""
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            done = subprocess.run(
                [str(rb), "test", runbook, "--fixture", str(fixture)],
                cwd=ROOT,
                capture_output=True,
                check=False,
            )
            runs.append(time.perf_counter() - start)
        verdict = "PASS" if done.returncode == 0 else "FAIL"
        print(f"{fixture.name:<44} {statistics.median(runs) * 1000:8.1f} ms  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    overhead(args.repeat)
    concurrency(max(1, args.repeat // 2))
    whole_process(args.repeat)


if __name__ == "__main__":
    main()
