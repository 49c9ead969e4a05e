"""Approval and wait_event steps in a fixture world: answered by the fixture, never parked."""

from __future__ import annotations

from .engine_helpers import run

RUNBOOK = """\
id: rb-test-waits
name: Waits
version: "1.0.0"
owner: platform-team
description: An approval, then an event.
parameters:
  cluster: {type: string, default: orders-pg, description: The cluster.}
steps:
  - id: ask
    type: approval
    inputs:
      message: "Fail over ${params.cluster}?"
      approvers: [alice, bob]
      required: 2
    outputs:
      approvers: "$.approvers"
  - id: promoted
    type: wait_event
    depends_on: [ask]
    inputs: {event: replica-promoted, key: "${params.cluster}"}
    outputs:
      host: "$.host"
"""

EVENTS = """
events:
  - {name: replica-promoted, key: billing-pg, payload: {host: b2}}
  - {name: replica-promoted, key: orders-pg, payload: {host: o2}}
"""


def test_the_fixture_s_approval_and_event_carry_the_run_through() -> None:
    result, _ = run(RUNBOOK, "approvals: {ask: {decision: approved, by: [alice, bob]}}" + EVENTS)
    assert result.status == "success"
    assert result.steps["ask"].outputs == {"approvers": ["alice", "bob"]}
    assert result.steps["ask"].result["message"] == "Fail over orders-pg?"
    assert result.steps["promoted"].outputs == {"host": "o2"}  # the right key, not the first


def test_an_approver_not_allowed_does_not_count_toward_n() -> None:
    result, _ = run(RUNBOOK, "approvals: {ask: {decision: approved, by: [alice, mallory]}}")
    assert result.status != "success"
    assert result.steps["ask"].error_kind == "unmatched"
    assert result.steps["ask"].error.startswith(
        "approval step 'ask': the fixture gives 1 of 2 approvals from allowed approvers;"
    )
    assert result.steps["promoted"].status == "skipped"


def test_a_rejection_and_a_timeout_fail_the_step_as_rejected() -> None:
    for answer, error in [
        ("{decision: rejected, by: [bob], comment: not now}", "rejected by bob: not now"),
        ("{decision: timeout}", "not approved in time (0 of 2 approvals); on_timeout: reject"),
    ]:
        result, _ = run(RUNBOOK, f"approvals: {{ask: {answer}}}")
        assert (result.steps["ask"].error_kind, result.steps["ask"].error) == ("rejected", error)
        assert result.steps["promoted"].status == "skipped"


def test_a_step_the_fixture_does_not_answer_fails_naming_the_section() -> None:
    result, _ = run(RUNBOOK, "approvals: {ask: {decision: approved, by: [alice, bob]}}")
    step = result.steps["promoted"]
    assert step.error_kind == "unmatched"
    assert step.error == (
        "the fixture has no event 'replica-promoted' with key 'orders-pg' for step 'promoted': "
        "add `events: [{name: replica-promoted, key: orders-pg, payload: ...}]` (docs/fixtures.md)"
    )
