"""The cost of recording, and of replaying, measured (never asserted).

A 1,000-step no-op chain (wait 0 s) under a fixture world:
- not recorded;
- recorded to SQLite (a file in a temporary folder);
- recorded to PostgreSQL (127.0.0.1:5432, database `test`, a scratch schema);
then the time to replay the SQLite recording (load, run, compare); then
whole processes: `rb test` of the same chain recorded to SQLite against
`--no-record`, taking turns.

The three take turns in rounds; each round's recorded time is divided by its
own unrecorded one, and the median of those ratios is reported.

Run: .venv/bin/python -m benchmarks.bench_record [--steps N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy

from benchmarks.bench_engine import make_runbook
from rb.plugins import step_types
from rb.replay import compare
from rb.service.request import Recording, RunRequest
from rb.service.runner import execute
from rb.store.database import open_store
from rb.store.export import fixture_from_run
from rb.store.queries import load_run
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    book = make_runbook(args.steps, "chain")
    folder = tempfile.mkdtemp(prefix="rb-bench-")
    sqlite = f"sqlite:///{folder}/bench.db"
    schema = f"rb_bench_{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    postgres = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    for url in (sqlite, postgres):
        open_store(url).dispose()  # migrate before timing

    def run(db: str | None) -> str | None:
        world = FixtureWorld(from_data({}))
        recording = Recording(db=db) if db is not None else None
        ran = execute(RunRequest(book, world, params={}, recording=recording))
        assert ran.result.status == "success"
        return ran.execution_id

    modes = {"not recorded": None, "recorded to SQLite": sqlite, "recorded to PostgreSQL": postgres}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    try:
        # Rounds, not blocks: the three take turns (in a rotating order), so a
        # slow spell of this shared machine hits all of them alike, and each
        # round gives its own ratio.
        for i in range(args.repeat + 2):
            order = list(modes)[i % 3 :] + list(modes)[: i % 3]
            for mode in order:
                gc.collect()
                start = time.perf_counter()
                run(modes[mode])
                if i >= 2:  # the first two rounds warm caches and connections
                    times[mode].append(time.perf_counter() - start)
        last = run(sqlite)
        assert last is not None
        store = open_store(sqlite)

        def replay() -> None:
            recording = load_run(store, last)
            world = FixtureWorld(from_data(fixture_from_run(recording)))
            result = execute(RunRequest(book, world, params={}, recording=None)).result
            assert result.status == "success"
            assert compare(recording, result, world, book, step_types()).verified

        replays = []
        for _ in range(args.repeat):
            gc.collect()
            start = time.perf_counter()
            replay()
            replays.append(time.perf_counter() - start)
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
    n = args.steps
    bare = times["not recorded"]
    print(f"{n}-step no-op chain, fixture world, {args.repeat} rounds; medians")
    print(f"{'not recorded':<26}{statistics.median(bare) * 1000:>9.1f} ms")
    for mode in list(modes)[1:]:
        value = statistics.median(times[mode])
        ratios = sorted(t / b - 1 for t, b in zip(times[mode], bare, strict=True))
        quarter = len(ratios) // 4
        print(
            f"{mode:<26}{value * 1000:>9.1f} ms  +{statistics.median(ratios) * 100:.0f} % "
            f"(middle half of rounds: +{ratios[quarter] * 100:.0f} to "
            f"+{ratios[-1 - quarter] * 100:.0f} %; "
            f"{(value - statistics.median(bare)) / n * 1e6:.0f} us/step)"
        )
    print(f"{'replay (load+run+compare)':<26}{statistics.median(replays) * 1000:>9.1f} ms")
    whole_process(args.steps, args.repeat)


def whole_process(steps: int, repeat: int) -> None:
    """`rb test` of a no-op chain as a user runs it: recorded (SQLite) against --no-record."""
    folder = Path(tempfile.mkdtemp(prefix="rb-bench-cli-"))
    lines = ["id: bench", "name: bench", 'version: "1"', "steps:"]
    for i in range(steps):
        dep = f", depends_on: [s{i - 1}]" if i else ""
        lines.append(f"  - {{id: s{i}, type: wait, inputs: {{seconds: 0}}{dep}}}")
    (folder / "chain.yaml").write_text("\n".join(lines) + "\n")
    (folder / "chain.fixture.yaml").write_text("runbook: chain.yaml\n")
    rb = str(Path(sys.executable).parent / "rb")
    command = [rb, "test", "chain.yaml", "--fixture", "chain.fixture.yaml"]
    env = {**os.environ, "RB_DATABASE_URL": f"sqlite:///{folder}/rb.db"}
    subprocess.run([*command, "--update"], cwd=folder, env=env, capture_output=True, check=True)
    modes = {"recorded": [], "--no-record": ["--no-record"]}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for i in range(repeat + 1):
        for mode in list(modes)[i % 2 :] + list(modes)[: i % 2]:
            start = time.perf_counter()
            subprocess.run(
                [*command, *modes[mode]], cwd=folder, env=env, capture_output=True, check=True
            )
            if i:  # the first round warms the caches
                times[mode].append(time.perf_counter() - start)
    ratios = [r / b for r, b in zip(times["recorded"], times["--no-record"], strict=True)]
    print(
        f"\nwhole-process rb test, {steps}-step chain, {repeat} rounds; medians\n"
        f"{'--no-record':<26}{statistics.median(times['--no-record']) * 1000:>9.1f} ms\n"
        f"{'recorded to SQLite':<26}{statistics.median(times['recorded']) * 1000:>9.1f} ms"
        f"  x{statistics.median(ratios):.2f} (median of rounds' ratios)"
    )


if __name__ == "__main__":
    main()
