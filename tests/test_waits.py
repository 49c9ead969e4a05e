"""Approvals and events on a real store (SQLite and PostgreSQL), through the
steps, `rb approve` / `rb reject` / `rb event send`, and the REST API.

Decisions that complete an approval resume the run: those paths need the
durable run service and are in tests/test_waits_resume.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from rb.engine.waiting import Park
from rb.errors import StepError, UsageError
from rb.service.waits import decide, send_event
from rb.store.database import Store, open_store
from rb.store.inbox import StoreInbox, record_decision, record_event

from .conftest import run_rb
from .waits_helpers import new_execution, park, run_step

TWO_OF_THREE = {
    "message": "Fail over orders-pg?",
    "approvers": ["alice", "bob", "carol"],
    "required": 2,
    "timeout_seconds": 3600,
}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def _parked_approval(store: Store, inputs: dict[str, Any] = TWO_OF_THREE) -> str:
    execution_id = new_execution(store, actor="olivia")
    parked = run_step(store, execution_id, "approval", inputs, "approve")
    assert isinstance(parked, Park)
    park(store, execution_id, parked)
    return execution_id


# The approval step ------------------------------------------------------------------


def test_an_approval_without_decisions_parks_with_who_and_how_many(store: Store) -> None:
    execution_id = new_execution(store)
    parked = run_step(store, execution_id, "approval", TWO_OF_THREE, "approve")
    assert isinstance(parked, Park)
    wait = parked.waiting_for.to_json()
    assert wait["kind"] == "approval" and wait["step_id"] == "approve"
    assert (wait["needed"], wait["have"]) == (2, 0)
    assert wait["approvers"] == ["alice", "bob", "carol"]
    assert wait["message"] == "Fail over orders-pg?"
    assert "deadline" in wait


def test_two_of_three_approvals_let_the_step_succeed(store: Store) -> None:
    execution_id = new_execution(store)
    record_decision(store, execution_id, "approve", "approve", actor="alice", comment="ok")
    assert isinstance(run_step(store, execution_id, "approval", TWO_OF_THREE, "approve"), Park)
    record_decision(store, execution_id, "approve", "approve", actor="bob")
    result = run_step(store, execution_id, "approval", TWO_OF_THREE, "approve")
    assert result["approved"] is True
    assert result["approvers"] == ["alice", "bob"]
    assert result["comments"] == [{"by": "alice", "decision": "approve", "comment": "ok"}]


def test_one_rejection_fails_the_step_naming_who_and_why(store: Store) -> None:
    execution_id = new_execution(store)
    record_decision(store, execution_id, "approve", "approve", actor="alice")
    record_decision(store, execution_id, "approve", "reject", actor="carol", comment="not now")
    with pytest.raises(StepError) as caught:
        run_step(store, execution_id, "approval", TWO_OF_THREE, "approve")
    assert caught.value.kind == "rejected"
    assert caught.value.message == "rejected by carol: not now"
    assert caught.value.retryable is False


@pytest.mark.parametrize(("on_timeout", "kind"), [("reject", "rejected"), ("fail", "timeout")])
def test_a_passed_deadline_applies_on_timeout(store: Store, on_timeout: str, kind: str) -> None:
    # The deadline counts from the first wait: a wait that started far in the
    # past (kept in the recording) is over when the run is resumed.
    import sqlalchemy

    from rb.store.tables import exchanges

    execution_id = new_execution(store)
    with store.begin() as conn:
        conn.execute(
            sqlalchemy.insert(exchanges).values(
                execution_id=execution_id,
                seq=1,
                step_id="",
                attempt=1,
                kind="observe",
                request={"name": "wait.approve.started"},
                response={"value": "2000-01-01T00:00:00+00:00"},
            )
        )
    inputs = {**TWO_OF_THREE, "on_timeout": on_timeout}
    with pytest.raises(StepError) as caught:
        run_step(store, execution_id, "approval", inputs, "approve")
    assert caught.value.kind == kind
    assert "0 of 2 approvals" in caught.value.message


def test_the_trigger_s_own_approval_does_not_count(store: Store) -> None:
    execution_id = new_execution(store, actor="alice")
    record_decision(store, execution_id, "approve", "approve", actor="alice")
    inputs = {**TWO_OF_THREE, "required": 1}
    assert isinstance(run_step(store, execution_id, "approval", inputs, "approve"), Park)
    allowed = {**inputs, "allow_self_approval": True}
    assert run_step(store, execution_id, "approval", allowed, "approve")["approvers"] == ["alice"]


def test_group_members_may_approve(
    store: Store, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = tmp_path / "groups.yaml"
    groups.write_text("dba-oncall: [dora, dan]\n", encoding="utf-8")
    monkeypatch.setenv("RB_GROUPS_FILE", str(groups))
    execution_id = new_execution(store)
    record_decision(store, execution_id, "approve", "approve", actor="dan")
    record_decision(store, execution_id, "approve", "approve", actor="mallory")
    inputs = {"groups": ["dba-oncall"], "required": 1}
    assert run_step(store, execution_id, "approval", inputs, "approve")["approvers"] == ["dan"]


# Deciding: the service, the CLI, the API ---------------------------------------------


def test_a_decision_short_of_the_needed_count_is_kept_and_the_run_stays_parked(
    store: Store,
) -> None:
    execution_id = _parked_approval(store)
    answered = decide(store, execution_id, "approve", actor="alice", comment="fine by me")
    assert (answered.step_id, answered.complete, answered.resumed) == ("approve", False, None)
    assert answered.note == "decision recorded; 1 more needed"
    decided = StoreInbox(store).decisions(execution_id, "approve")
    assert [(d.actor, d.decision, d.comment) for d in decided] == [
        ("alice", "approve", "fine by me")
    ]


@pytest.mark.parametrize(
    ("actor", "refusal"),
    [
        # olivia started the run; she is an approver, but not of her own run
        ("olivia", "olivia started this run and the step does not allow self-approval"),
        ("mallory", "mallory is not among the approvers (alice, bob, carol, olivia)"),
    ],
)
def test_who_may_not_decide_is_refused(store: Store, actor: str, refusal: str) -> None:
    approvers = {**TWO_OF_THREE, "approvers": ["alice", "bob", "carol", "olivia"]}
    execution_id = _parked_approval(store, approvers)
    with pytest.raises(UsageError) as caught:
        decide(store, execution_id, "approve", actor=actor)
    assert str(caught.value) == f"cannot decide step 'approve': {refusal}"
    assert StoreInbox(store).decisions(execution_id, "approve") == ()


def test_one_decision_per_person(store: Store) -> None:
    execution_id = _parked_approval(store)
    decide(store, execution_id, "approve", actor="alice")
    with pytest.raises(UsageError, match="alice has already decided step 'approve'"):
        decide(store, execution_id, "reject", actor="alice")


def test_rb_approve_records_the_approver_and_comment(store_url: str, store: Store) -> None:
    execution_id = _parked_approval(store)
    done = run_rb(
        "approve", execution_id, "--as", "bob", "--comment", "lag is fine", "--db", store_url
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout
        == f"approved for {execution_id} step approve: decision recorded; 1 more needed\n"
    )
    refused = run_rb("reject", execution_id, "--as", "olivia", "--db", store_url)
    assert refused.returncode == 2
    assert "olivia started this run" in refused.stderr
    decided = StoreInbox(store).decisions(execution_id, "approve")
    assert [(d.actor, d.comment) for d in decided] == [("bob", "lag is fine")]


def test_rb_approve_of_a_finished_run_says_so(store_url: str, store: Store) -> None:
    execution_id = new_execution(store, status="success")
    done = run_rb("approve", execution_id, "--as", "bob", "--db", store_url)
    assert done.returncode == 2
    assert f"execution {execution_id} has ended (success); nothing to decide" in done.stderr


# Events ----------------------------------------------------------------------------------

EVENT_INPUTS = {"event": "replica-promoted", "key": "orders-pg", "timeout_seconds": 600}


def test_an_event_with_the_right_key_is_taken_and_a_wrong_key_is_not(store: Store) -> None:
    execution_id = new_execution(store)
    record_event(store, "replica-promoted", "billing-pg", {"host": "b2"}, actor="patroni")
    parked = run_step(store, execution_id, "wait_event", EVENT_INPUTS, "promoted")
    assert isinstance(parked, Park)
    assert parked.waiting_for.to_json()["key"] == "orders-pg"
    record_event(store, "replica-promoted", "orders-pg", {"host": "o2"}, actor="patroni")
    result = run_step(store, execution_id, "wait_event", EVENT_INPUTS, "promoted")
    assert result == {"name": "replica-promoted", "key": "orders-pg", "payload": {"host": "o2"}}


def test_an_early_event_is_kept_for_the_step_and_taken_once(store: Store) -> None:
    send_event(store, "replica-promoted", "orders-pg", {"host": "o2"}, actor="patroni")
    first, second = new_execution(store), new_execution(store)
    taken = run_step(store, first, "wait_event", EVENT_INPUTS, "promoted")
    assert taken["payload"] == {"host": "o2"}
    # The same step asking again (a resumed run) gets its own event back...
    assert run_step(store, first, "wait_event", EVENT_INPUTS, "promoted") == taken
    # ...and no other run can take it.
    assert isinstance(run_step(store, second, "wait_event", EVENT_INPUTS, "promoted"), Park)


def test_an_expired_event_is_not_taken(store: Store) -> None:
    record_event(store, "replica-promoted", "orders-pg", None, actor="patroni", keep_seconds=0)
    execution_id = new_execution(store)
    assert isinstance(run_step(store, execution_id, "wait_event", EVENT_INPUTS, "promoted"), Park)


def test_concurrent_takers_share_one_event_exactly_once(store: Store) -> None:
    record_event(store, "go", "k", {"n": 1}, actor="t")
    runs = [new_execution(store) for _ in range(8)]
    got: list[Any] = []
    start = threading.Barrier(len(runs))

    def take(execution_id: str) -> None:
        start.wait()
        got.append(StoreInbox(store).take_event(execution_id, "s", "go", "k"))

    threads = [threading.Thread(target=take, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == len(runs)
    assert len([e for e in got if e is not None]) == 1


def test_rb_event_send_keeps_an_event_no_run_waits_for(store_url: str, store: Store) -> None:
    done = run_rb(
        "event",
        "send",
        "replica-promoted",
        "--key",
        "orders-pg",
        "--data",
        '{"host": "o2"}',
        "--keep",
        "60",
        "--format",
        "json",
        "--db",
        store_url,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["execution_id"], shown["resumed"]) == (None, False)
    assert shown["note"] == "event kept for 60s for a step to take"
    execution_id = new_execution(store)
    taken = run_step(store, execution_id, "wait_event", EVENT_INPUTS, "promoted")
    assert taken["payload"] == {"host": "o2"}


def test_rb_event_send_refuses_data_that_is_not_json(store_url: str) -> None:
    done = run_rb("event", "send", "x", "--key", "k", "--data", "{nope", "--db", store_url)
    assert done.returncode == 2
    assert "--data is not valid JSON" in done.stderr


# rb run on a terminal ----------------------------------------------------------------------


def test_rb_run_on_a_terminal_asks_an_allowed_person_and_records_the_answer(
    store_url: str, store: Store
) -> None:
    import io

    from rb.cli.commands.waits import ask_on_terminal

    execution_id = _parked_approval(store)
    answers = iter(["y", "lag is fine"])
    out = io.StringIO()
    answered = ask_on_terminal(
        execution_id, db=store_url, actor="alice", out=out, ask=lambda _: next(answers), resume=None
    )
    assert answered is not None and answered.note == "decision recorded; 1 more needed"
    assert "step approve asks: Fail over orders-pg?" in out.getvalue()
    (decision,) = StoreInbox(store).decisions(execution_id, "approve")
    assert (decision.actor, decision.decision, decision.comment) == (
        "alice",
        "approve",
        "lag is fine",
    )


@pytest.mark.parametrize(("actor", "asked"), [("bob", True), ("mallory", False), ("olivia", False)])
def test_rb_run_leaves_the_run_waiting_on_enter_and_never_asks_who_may_not_decide(
    store_url: str, store: Store, actor: str, asked: bool
) -> None:
    import io

    from rb.cli.commands.waits import ask_on_terminal

    execution_id = _parked_approval(store)
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return ""

    out = io.StringIO()
    assert ask_on_terminal(execution_id, db=store_url, actor=actor, out=out, ask=ask) is None
    assert bool(prompts) is asked
    assert StoreInbox(store).decisions(execution_id, "approve") == ()
