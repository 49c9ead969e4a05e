"""The networkx step graph, measured (never asserted).

- whole-process `python -m rb --help` and `python -m rb validate` of one
  example, run from the current directory's tree (so two checkouts compare);
- building `Runbook.graph` and `Ancestry` for generated chains and fan-outs,
  and networkx's own `transitive_reduction`, which RB070 does not use because
  it is quadratic on long chains.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_graph [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from benchmarks.gen_runbook import runbook_text
from rb.graph import Ancestry, build
from rb.loader import load_text

ROOT = Path.cwd()


def wall(args: list[str], repeat: int) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rb", *args], cwd=ROOT, env=env, capture_output=True)
        runs.append(time.perf_counter() - start)
    return min(runs), statistics.median(runs)


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"whole process, tree {ROOT} (min / median of {args.repeat})")
    for cmd in (["--help"], ["validate", "runbooks/entity-enrichment.yaml"]):
        low, med = wall(cmd, args.repeat)
        print(f"  rb {' '.join(cmd):<40} {low * 1000:7.1f} / {med * 1000:7.1f} ms")

    print("\nin process, best of runs (ms)")
    print(f"{'shape':<7}{'steps':>7}{'graph':>9}{'us/step':>9}{'ancestry':>10}{'redundant':>11}")
    for shape in ("chain", "fan"):
        for n in (1000, 10000):
            loaded = load_text(runbook_text(n, shape))
            assert loaded.runbook is not None
            steps = loaded.runbook.steps
            graph = build(steps)
            ancestry = Ancestry.of(graph)
            g = best(lambda: build(steps), 5)  # noqa: B023 - timed at once
            a = best(lambda: Ancestry.of(graph), 5)  # noqa: B023
            r = best(lambda: list(ancestry.redundant(graph)), 5)  # noqa: B023
            print(
                f"{shape:<7}{n:>7}{g * 1000:>9.1f}{g / n * 1e6:>9.1f}{a * 1000:>10.1f}"
                f"{r * 1000:>11.1f}"
            )
    print("\nnx.transitive_reduction of a chain (what RB070 would cost with it)")
    for n in (1000, 3000):
        chain: nx.DiGraph[str] = nx.DiGraph()
        chain.add_edges_from((f"s{i - 1}", f"s{i}") for i in range(1, n))
        print(f"  {n:>5} steps {best(lambda: nx.transitive_reduction(chain), 1) * 1000:9.1f} ms")  # noqa: B023


if __name__ == "__main__":
    main()
