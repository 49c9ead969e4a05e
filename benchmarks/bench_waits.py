"""Answer-to-step latency of approvals and events on the store, measured (never asserted).

What the issue's "approval-to-continue under 100 ms" is made of, on this
side of the resume: `rb approve` recording a decision, then the resumed
approval step reading the decisions and deciding (a real approval step run
against the store-backed inbox); and an event sent, then taken by a
wait_event step; and the whole path end to end: a live run parked at an
approval, then `rb approve`'s decision and resume (in process), timed until
the step after the approval starts.

SQLite (a file in a temporary folder) and PostgreSQL (127.0.0.1:5432,
database `test`, a scratch schema). Medians over --repeat rounds.

Run: .venv/bin/python -m benchmarks.bench_waits [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy

from rb.store.database import Store, open_store
from rb.store.inbox import record_decision, record_event
from tests.waits_helpers import new_execution, run_step

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
APPROVAL = {"approvers": ["alice"], "required": 1, "message": "go?"}
EVENT = {"event": "go", "key": "k"}


def _approval_round(store: Store) -> float:
    execution_id = new_execution(store)
    start = time.perf_counter()
    record_decision(store, execution_id, "ask", "approve", actor="alice")
    result = run_step(store, execution_id, "approval", APPROVAL, "ask")
    took = time.perf_counter() - start
    assert result["approved"] is True
    return took


def _event_round(store: Store) -> float:
    execution_id = new_execution(store)
    key = uuid.uuid4().hex
    start = time.perf_counter()
    record_event(store, "go", key, {"n": 1}, actor="bench")
    result = run_step(store, execution_id, "wait_event", {**EVENT, "key": key}, "wait")
    took = time.perf_counter() - start
    assert result["payload"] == {"n": 1}
    return took


CONTINUED = """\
id: bench-continue
name: Approval then a step
version: "1"
steps:
  - id: ask
    type: approval
    inputs: {approvers: [alice], required: 1, message: go?, allow_self_approval: true}
  - id: next
    type: wait
    depends_on: [ask]
    inputs: {seconds: 0}
"""


def _continue_round(store: Store) -> float:
    """A live run parked at an approval; `rb approve`'s path (decision and the
    resume from the recording) timed until the step after the approval starts."""
    from rb.engine.events import StepStarted
    from rb.loader import load_text
    from rb.service.request import Recording, RunRequest
    from rb.service.runner import execute, live_world
    from rb.service.waits import decide

    runbook = load_text(CONTINUED, "bench-continue.yaml").runbook
    assert runbook is not None
    world = live_world(secrets={}, facts={})
    parked = execute(RunRequest(runbook, world, params={}, recording=Recording(store=store)))
    assert parked.result.status == "waiting" and parked.execution_id is not None
    started: list[float] = []

    def resume_timed(execution_id: str, store: Store, actor: str) -> Any:
        from rb.service import durable

        def listener(event: object) -> None:
            if isinstance(event, StepStarted) and event.step_id == "next" and not started:
                started.append(time.perf_counter())

        return durable.resume(execution_id, store=store, actor=actor, listeners=[listener])

    begin = time.perf_counter()
    answered = decide(store, parked.execution_id, "approve", actor="alice", resume=resume_timed)
    assert answered.resumed is not None and answered.resumed.result.status == "success"
    return started[0] - begin


def _median_ms(round_: Callable[[Store], float], store: Store, repeat: int) -> float:
    round_(store)  # warm: connections, imports, plugins
    return statistics.median(round_(store) for _ in range(repeat)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    schema = f"rb_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(POSTGRES.replace("postgresql:", "postgresql+psycopg:"))
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    try:
        with tempfile.TemporaryDirectory() as folder:
            stores = {
                "SQLite": open_store(f"sqlite:///{folder}/bench.db"),
                "PostgreSQL": open_store(f"{POSTGRES}?options=-csearch_path%3D{schema}"),
            }
            print(f"median of {args.repeat} rounds")
            for name, store in stores.items():
                approval = _median_ms(_approval_round, store, args.repeat)
                event = _median_ms(_event_round, store, args.repeat)
                onward = _median_ms(_continue_round, store, max(args.repeat // 5, 3))
                print(f"{name:<11} decision -> approval step decided: {approval:6.1f} ms")
                print(f"{name:<11} event sent -> wait_event step took it: {event:6.1f} ms")
                print(f"{name:<11} rb approve -> the next step starts (resumed): {onward:6.1f} ms")
                store.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
