"""Idempotency keys and concurrency keys, on a real SQLite file and real PostgreSQL.

Triggers really race (threads released together by a barrier); the runs that
must not overlap call a real HTTP server on 127.0.0.1 that counts the
requests in flight.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from rb.model import Runbook
from rb.service.keys import AlreadyTriggered, ConcurrencyBusy, IdempotencyConflict
from rb.service.request import Recording, RunRequest
from rb.service.runner import Ran, execute, fixture_request, live_world
from rb.store import keys as stored
from rb.store.database import open_store
from rb.store.tables import concurrency, executions
from rb.world.fixture_format import from_data

from .conftest import run_rb
from .engine_helpers import runbook

QUICK = """\
id: quick
name: Quick
version: "1"
parameters:
  region: {type: string, default: eu}
steps:
  - {id: pause, type: wait, inputs: {seconds: 2}}
"""


def _count(url: str, runbook_id: str | None = None) -> int:
    query = sqlalchemy.select(sqlalchemy.func.count()).select_from(executions)
    if runbook_id is not None:
        query = query.where(executions.c.runbook_id == runbook_id)
    with open_store(url).begin() as conn:
        return int(conn.execute(query).scalar() or 0)


def _trigger(book: Runbook, url: str, key: str | None, **params: Any) -> Ran | AlreadyTriggered:
    request = fixture_request(
        book, from_data({}), params=params, recording=Recording(db=url), baselines=False
    )
    try:
        return execute(replace(request, idempotency_key=key))
    except AlreadyTriggered as first:
        return first


def _id(outcome: Ran | AlreadyTriggered) -> str | None:
    return outcome.execution_id


def test_twenty_concurrent_triggers_with_one_key_make_one_execution(store_url: str) -> None:
    book = runbook(QUICK)
    open_store(store_url)  # migrated once, before the race
    barrier = threading.Barrier(20)
    outcomes: list[Ran | AlreadyTriggered] = []
    lock = threading.Lock()

    def trigger() -> None:
        barrier.wait()
        outcome = _trigger(book, store_url, "deploy-42")
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=trigger) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(outcomes) == 20
    assert _count(store_url) == 1
    ran = [o for o in outcomes if isinstance(o, Ran)]
    assert len(ran) == 1 and ran[0].result.status == "success"
    assert {_id(o) for o in outcomes} == {ran[0].execution_id}
    from rb.service.runs import recorded

    assert recorded(ran[0].execution_id or "", db=store_url).idempotency_key == "deploy-42"


def test_the_same_key_for_other_parameters_or_another_runbook_is_a_conflict(
    store_url: str,
) -> None:
    book = runbook(QUICK)
    first = _trigger(book, store_url, "k1", region="eu")
    assert isinstance(first, Ran)
    with pytest.raises(IdempotencyConflict, match="already used for other parameters"):
        _trigger(book, store_url, "k1", region="us")
    other = runbook(QUICK.replace("id: quick", "id: other"))
    with pytest.raises(IdempotencyConflict, match="already used for runbook 'quick'"):
        _trigger(other, store_url, "k1", region="eu")
    again = _trigger(book, store_url, "k1", region="eu")
    assert isinstance(again, AlreadyTriggered)
    assert (again.execution_id, again.status) == (first.execution_id, "success")
    assert _count(store_url) == 1


def test_an_expired_key_starts_a_new_run(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RB_IDEMPOTENCY_RETENTION", "0s")
    book = runbook(QUICK)
    first, second = (_trigger(book, store_url, "k2") for _ in range(2))
    assert isinstance(first, Ran) and isinstance(second, Ran)
    assert first.execution_id != second.execution_id
    assert _count(store_url) == 2


# Concurrency keys ----------------------------------------------------------------


@dataclass
class InFlight:
    """What the counting server saw: requests in flight now, and at most."""

    now: int = 0
    most: int = 0
    total: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    overlap: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)


@contextlib.contextmanager
def counting_server() -> Iterator[tuple[str, InFlight]]:
    """GET /work holds each request open briefly, so that overlapping runs would meet;
    GET /hold holds until `release` is set."""
    seen = InFlight()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with seen.lock:
                seen.now += 1
                seen.total += 1
                seen.most = max(seen.most, seen.now)
                if seen.now > 1:
                    seen.overlap.set()
            try:
                if self.path.startswith("/hold"):
                    seen.holding.set()
                    seen.release.wait(30)
                else:
                    # A window for another run to arrive in; ends at once when one does.
                    seen.overlap.wait(0.1)
            finally:
                with seen.lock:
                    seen.now -= 1
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        seen.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def _failover(base: str, *, limit: int = 1, when_busy: str = "queue", path: str = "/work") -> str:
    return f"""\
id: failover
name: Failover
version: "1"
parameters:
  cluster: {{type: string}}
concurrency: {{key: "db-${{params.cluster}}", limit: {limit}, when_busy: {when_busy}}}
steps:
  - id: promote
    type: data_fetch
    inputs: {{source_url: "{base}{path}"}}
"""


def _live(book: Runbook, url: str, key: str | None = None, **params: Any) -> Ran:
    return execute(
        RunRequest(
            book,
            live_world(secrets={}, facts={}),
            params=params,
            recording=Recording(db=url),
            idempotency_key=key,
        )
    )


def test_ten_runs_with_one_concurrency_key_never_overlap_and_all_complete(
    store_url: str,
) -> None:
    with counting_server() as (base, seen):
        book = runbook(_failover(base))
        open_store(store_url)
        barrier = threading.Barrier(10)
        results: list[Ran] = []

        def run() -> None:
            barrier.wait()
            results.append(_live(book, store_url, cluster="main"))

        threads = [threading.Thread(target=run) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert [r.result.status for r in results] == ["success"] * 10
    assert (seen.total, seen.most) == (10, 1)
    assert _count(store_url) == 10  # the queued records became the runs' own
    with open_store(store_url).begin() as conn:
        assert conn.execute(concurrency.select()).all() == []  # every slot let go
        rows = conn.execute(executions.select()).all()
    assert {r.concurrency_key for r in rows} == {"db-main"}
    assert {r.id for r in rows} == {r.execution_id for r in results}
    assert {(r.status, r.run_attempt) for r in rows} == {("success", 1)}
    assert all("attempts" not in r.metadata for r in rows)  # a first start, not a resume


def test_a_busy_key_refuses_a_run_that_says_reject(store_url: str) -> None:
    with counting_server() as (base, seen):
        holder = runbook(_failover(base, when_busy="reject", path="/hold"))
        first: list[Ran] = []
        thread = threading.Thread(
            target=lambda: first.append(_live(holder, store_url, cluster="a"))
        )
        thread.start()
        assert seen.holding.wait(30)
        book = runbook(_failover(base, when_busy="reject"))
        with pytest.raises(ConcurrencyBusy, match="already running for concurrency key 'db-a'"):
            _live(book, store_url, cluster="a")
        other = _live(book, store_url, cluster="b")  # another cluster is free
        seen.release.set()
        thread.join()
        assert _count(store_url) == 2  # the refused run left no record
        assert _live(book, store_url, cluster="a").result.status == "success"  # freed at the end
    assert other.result.status == "success"
    assert first[0].result.status == "success"


def _dead_lease() -> str:
    """The lease of a process that has exited (rb/store/lease.py)."""
    import socket

    process = subprocess.Popen(["true"])
    process.wait()
    return f"{socket.gethostname()}|{process.pid}|1"


def _holder(url: str, book: Runbook, status: str) -> str:
    """A record holding slot 0 of `db-a` in `status`, its process dead."""
    store = open_store(url)
    holder = "00000000-0000-4000-8000-00000000dead"
    stored.add_queued(
        store,
        holder,
        book,
        actor="ops",
        world="live",
        params={"cluster": "a"},
        concurrency_key="db-a",
        idempotency_key=None,
    )
    with store.begin() as conn:
        conn.execute(
            executions.update()
            .where(executions.c.id == holder)
            .values(status=status, lease=_dead_lease())
        )
    assert stored.take_slot(store, "db-a", 1, holder) == 0
    return holder


def test_a_slot_held_by_a_dead_process_is_freed(store_url: str) -> None:
    with counting_server() as (base, _seen):
        book = runbook(_failover(base, when_busy="reject"))
        holder = _holder(store_url, book, "running")
        store = open_store(store_url)
        waiter = "00000000-0000-4000-8000-0000000queue"
        stored.add_queued(
            store,
            waiter,
            book,
            actor="ops",
            world="live",
            params={"cluster": "a"},
            concurrency_key="db-a",
            idempotency_key=None,
        )
        with store.begin() as conn:  # it died while queued, holding no slot yet
            conn.execute(
                executions.update().where(executions.c.id == waiter).values(lease=_dead_lease())
            )
        assert _live(book, store_url, cluster="a").result.status == "success"
    assert stored.status_of(store, holder) == "interrupted"
    assert stored.status_of(store, waiter) == "interrupted"


def test_a_waiting_run_keeps_its_slot(store_url: str) -> None:
    # Parked for an approval, no process holds it, yet the cluster stays taken.
    with counting_server() as (base, seen):
        book = runbook(_failover(base, when_busy="reject"))
        holder = _holder(store_url, book, "waiting")
        with pytest.raises(ConcurrencyBusy):
            _live(book, store_url, cluster="a")
        assert seen.total == 0
        with open_store(store_url).begin() as conn:  # it ends: the slot goes with it
            conn.execute(
                executions.update().where(executions.c.id == holder).values(status="success")
            )
        assert _live(book, store_url, cluster="a").result.status == "success"


# The CLI and the API ------------------------------------------------------------------


def test_rb_run_with_a_used_key_prints_the_first_execution(tmp_path: Path) -> None:
    book = tmp_path / "echo.yaml"
    book.write_text(
        QUICK.replace(
            "{id: pause, type: wait, inputs: {seconds: 2}}",
            "{id: hello, type: shell, inputs: {command: echo, args: ['${params.region}']}}",
        ),
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path}/rb.db"
    args = ("run", str(book), "--db", db, "--idempotency-key", "ticket-7")
    first = run_rb(*args)
    assert first.returncode == 0, first.stderr
    second = run_rb(*args)
    assert second.returncode == 0, second.stderr
    assert "idempotency key 'ticket-7' already started" in second.stdout
    assert second.stdout.rstrip().endswith(": success")
    conflict = run_rb(*args, "--param", "region=us")
    assert conflict.returncode == 2
    assert "already used for other parameters" in conflict.stderr
    assert _count(db) == 1
    shown = run_rb("runs", "show", "last", "--db", db)
    assert "idempotency key  ticket-7" in shown.stdout


def test_the_idempotency_key_header_returns_the_first_execution(api: Any) -> None:
    headers = {"Idempotency-Key": "order-1"}
    body = {"runbook_id": "srv-greet", "fixture": "fixtures/greet.yaml"}
    first = api.client.post("/api/runbooks/execute", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    second = api.client.post("/api/runbooks/execute", json=body, headers=headers)
    assert second.status_code == 200, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["idempotency_key"] == "order-1"
    changed = {**body, "inputs": {"times": 2}}
    conflict = api.client.post("/api/runbooks/execute", json=changed, headers=headers)
    assert conflict.status_code == 409
    assert "already used for other parameters" in conflict.json()["error"]


def test_the_graphql_mutation_honours_the_idempotency_key_header(api: Any) -> None:
    mutation = (
        "mutation($id: ID!, $fixture: String) "
        "{ executeRunbook(id: $id, fixture: $fixture) { id status } }"
    )
    document = {
        "query": mutation,
        "variables": {"id": "srv-greet", "fixture": "fixtures/greet.yaml"},
    }
    headers = {"Idempotency-Key": "gql-1"}
    answers = [api.client.post("/graphql", json=document, headers=headers).json() for _ in range(2)]
    assert answers[0] == answers[1], answers
    assert answers[0]["data"]["executeRunbook"]["status"] == "SUCCESS"


def test_a_queued_run_keeps_one_execution_id_from_queued_to_finished(store_url: str) -> None:
    with counting_server() as (base, seen):
        holder = runbook(_failover(base, path="/hold"))
        book = runbook(_failover(base))
        results: list[Ran] = []
        first = threading.Thread(
            target=lambda: results.append(_live(holder, store_url, cluster="a"))
        )
        first.start()
        assert seen.holding.wait(30)
        second = threading.Thread(
            target=lambda: results.append(_live(book, store_url, "chg-1", cluster="a"))
        )
        second.start()
        store = open_store(store_url)
        query = executions.select().where(executions.c.status == "queued")
        deadline = time.monotonic() + 30  # a safety net: the row appears within moments
        queued: list[Any] = []
        while not queued and time.monotonic() < deadline:
            with store.begin() as conn:
                queued = conn.execute(query).all()
        assert len(queued) == 1
        queued_id = queued[0].id
        assert queued[0].waiting_for == [{"kind": "concurrency", "key": "db-a"}]
        assert queued[0].concurrency_key == "db-a"
        with pytest.raises(AlreadyTriggered) as replay:  # the key answers the queued id
            _live(book, store_url, "chg-1", cluster="a")
        assert (replay.value.execution_id, replay.value.status) == (queued_id, "queued")
        seen.release.set()
        first.join()
        second.join()
        with pytest.raises(AlreadyTriggered) as replay:  # and the same id once it ran
            _live(book, store_url, "chg-1", cluster="a")
    assert (replay.value.execution_id, replay.value.status) == (queued_id, "success")
    assert [r.result.status for r in results] == ["success", "success"]
    assert results[1].execution_id == queued_id  # the id seen while queued is the run's
    assert seen.most == 1
    assert _count(store_url) == 2
    assert stored.read_key(store, "chg-1") is not None
    from rb.service.runs import recorded

    run = recorded(queued_id, db=store_url)
    assert (run.status, run.run_attempt, run.attempts) == ("success", 1, [])
    assert [(s.step_id, s.seq, s.run_attempt) for s in run.steps] == [("promote", 1, 1)]
    assert run.idempotency_key == "chg-1"
    shown = run_rb("runs", "show", queued_id, "--db", store_url)
    assert shown.returncode == 0, shown.stderr
    assert f"execution {queued_id}" in shown.stdout
    assert "status    success" in shown.stdout
    assert "promote" in shown.stdout and "waiting" not in shown.stdout
