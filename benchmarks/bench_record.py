"""The cost of recording, and of replaying, measured (never asserted).

A 1,000-step no-op chain (wait 0 s) under a fixture world:
- not recorded;
- recorded to SQLite (a file in a temporary folder);
- recorded to PostgreSQL (127.0.0.1:5432, database `test`, a scratch schema);
then the time to replay the SQLite recording (load, run, compare).

Run: .venv/bin/python benchmarks/bench_record.py [--steps N] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

import sqlalchemy

from benchmarks.bench_engine import make_runbook
from rb.commands.execution import run_recorded
from rb.replay import compare
from rb.store.database import open_store
from rb.store.export import fixture_from_run
from rb.store.queries import load_run
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
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

    def run(record: bool, db: str | None = None) -> str | None:
        world = FixtureWorld(from_data({}))
        result, run_id = run_recorded(book, world, params={}, record=record, db=db)
        assert result.status == "success"
        return run_id

    try:
        bare = timed(lambda: run(False), args.repeat)
        on_sqlite = timed(lambda: run(True, sqlite), args.repeat)
        on_postgres = timed(lambda: run(True, postgres), args.repeat)
        last = run(True, sqlite)
        assert last is not None
        store = open_store(sqlite)

        def replay() -> None:
            recording = load_run(store, last)
            world = FixtureWorld(from_data(fixture_from_run(recording)))
            result, _ = run_recorded(book, world, params={}, record=False)
            assert compare(recording, result, world).verified

        replay_time = timed(replay, args.repeat)
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
    n = args.steps
    print(f"{n}-step no-op chain, fixture world, median of {args.repeat}")
    print(f"{'not recorded':<26}{bare * 1000:>9.1f} ms")
    for label, value in (
        ("recorded to SQLite", on_sqlite),
        ("recorded to PostgreSQL", on_postgres),
    ):
        print(
            f"{label:<26}{value * 1000:>9.1f} ms  +{(value / bare - 1) * 100:.0f} %  "
            f"({(value - bare) / n * 1e6:.0f} us/step)"
        )
    print(f"{'replay (load+run+compare)':<26}{replay_time * 1000:>9.1f} ms")


if __name__ == "__main__":
    main()
