"""What idempotency and concurrency keys cost a run, on SQLite and PostgreSQL.

- a recorded 1-step fixture run without keys, with an idempotency key, and a
  repeated trigger answered from its key (no run);
- taking and letting go of a concurrency slot (the store calls a live run
  with `concurrency:` makes: queued record, INSERT of the slot, the move to
  the run's record, release);
- hand-over: from a holder letting go to a queued waiter holding the slot
  (the waiter polls with a backoff from 20 ms to 1 s, so this is bounded by
  how long it had waited).

Run: .venv/bin/python -m benchmarks.bench_keys  (needs PostgreSQL on 127.0.0.1:5432)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import sqlalchemy

from rb.loader import load_text
from rb.service.keys import AlreadyTriggered
from rb.service.request import Recording, RunRequest
from rb.service.runner import execute
from rb.store import keys as stored
from rb.store.database import open_store
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BOOK = """\
id: keyed
name: Keyed
version: "1"
parameters:
  cluster: {type: string, default: main}
concurrency: {key: "${params.cluster}", limit: 1}
steps:
  - {id: pause, type: wait, inputs: {seconds: 1}}
"""


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    loaded = load_text(BOOK, "keyed.yaml")
    assert loaded.runbook is not None
    book = loaded.runbook
    folder = tempfile.mkdtemp(prefix="rb-bench-")
    schema = f"rb_bench_{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    stores = {
        "SQLite": f"sqlite:///{folder}/bench.db",
        "PostgreSQL": f"{POSTGRES}?options=-csearch_path%3D{schema}",
    }
    try:
        for name, url in stores.items():
            open_store(url)  # migrated before timing
            _measure(name, url, book, args.repeat)
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))


def _measure(name: str, url: str, book: object, repeat: int) -> None:
    from rb.model import Runbook

    assert isinstance(book, Runbook)
    store = open_store(url)

    def run(key: str | None) -> None:
        request = RunRequest(
            book, FixtureWorld(from_data({})), {"cluster": "main"}, Recording(db=url)
        )
        with contextlib.suppress(AlreadyTriggered):
            execute(replace(request, idempotency_key=key))

    _median_ms(lambda: run(None), 5)  # warm up
    plain = _median_ms(lambda: run(None), repeat)
    keyed = _median_ms(lambda: run(str(uuid.uuid4())), repeat)
    run("repeated")
    repeated = _median_ms(lambda: run("repeated"), repeat)

    def slot_cycle() -> None:
        queued = str(uuid.uuid4())
        stored.add_queued(
            store,
            queued,
            book,
            actor="bench",
            world="live",
            params={},
            concurrency_key="c",
            idempotency_key=None,
        )
        assert stored.take_slot(store, "c", 1, queued) == 0
        stored.drop_queued(store, queued)

    slot = _median_ms(slot_cycle, repeat)
    handover = statistics.median(_handover(store, book) for _ in range(5)) * 1000
    print(f"{name}:")
    print(f"  recorded fixture run, no key        {plain:7.1f} ms median")
    print(f"  with an idempotency key             {keyed:7.1f} ms (+{keyed - plain:.1f} ms)")
    print(f"  repeated trigger (answered by key)  {repeated:7.1f} ms")
    print(f"  concurrency slot taken and freed    {slot:7.1f} ms")
    print(f"  queue hand-over after ~0.3 s queued {handover:7.1f} ms median of 5")


def _handover(store: object, book: object) -> float:
    """Seconds from a holder letting go to a queued waiter holding the slot."""
    from rb.model import Runbook
    from rb.service.keys import Keys, _take_slot
    from rb.store.database import Store

    assert isinstance(store, Store) and isinstance(book, Runbook)
    holder = str(uuid.uuid4())
    stored.add_queued(
        store,
        holder,
        book,
        actor="bench",
        world="live",
        params={},
        concurrency_key="h",
        idempotency_key=None,
    )
    assert stored.take_slot(store, "h", 1, holder) == 0
    request = RunRequest(book, FixtureWorld(from_data({})), {"cluster": "h"}, Recording())
    keys = Keys(store=store, concurrency_key="h")
    got = threading.Event()

    def wait() -> None:
        _take_slot(store, keys, request, "h")
        got.set()

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)  # a benchmark, not a test: let the waiter back off a few rounds
    released = time.perf_counter()
    stored.drop_queued(store, holder)
    got.wait(10)
    took = time.perf_counter() - released
    thread.join()
    keys.release()
    return took


if __name__ == "__main__":
    main()
