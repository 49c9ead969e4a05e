"""The report's pieces without a browser: layout, divergences, escaping."""

from __future__ import annotations

from datetime import UTC, datetime

from rb.htmlreport import Section, divergences_from, render
from rb.htmlreport.dag import layout
from rb.loader import load_text
from rb.store.records import Execution, StepLog

DEFINITION = """\
id: tiny
name: Tiny
version: "1"
steps:
  - id: a
    type: wait
    inputs: {seconds: 1}
  - id: b
    type: wait
    depends_on: [a]
    inputs: {seconds: 1}
  - id: c
    type: wait
    depends_on: [a]
    inputs: {seconds: 1}
  - id: d
    type: wait
    depends_on: [b, c]
    inputs: {seconds: 1}
"""
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def run(**changes: object) -> Execution:
    at = T0.replace(second=1)
    values: dict[str, object] = {
        "id": "00000000-0000-0000-0000-000000000001",
        "runbook_id": "tiny",
        "runbook_version": "1",
        "status": "failure",
        "world": "fixture",
        "actor": "alice",
        "started_at": T0,
        "recorded_at": T0,
        "definition_path": "tiny.yaml",
        "definition_hash": "x",
        "definition": DEFINITION,
        "completed_at": at,
        "duration_seconds": 1.0,
        "metadata": {"error": "<script>alert(1)</script>"},
        "steps": (
            StepLog("a", 1, "succeeded", 1, T0, at, 1.0, outputs={"x": "<b>bold</b>"}),
            StepLog("b", 2, "failed", 3, at, at, 0.0, error="boom"),
        ),
        "exchanges": (),
    }
    values.update(changes)
    return Execution(**values)  # type: ignore[arg-type]


def test_steps_sit_in_columns_by_generation_in_file_order() -> None:
    runbook = load_text(DEFINITION, "tiny.yaml").runbook
    assert runbook is not None
    placed = layout(runbook, {"a": "succeeded", "b": "failed"})
    xs = {n.step_id: n.x for n in placed.nodes}
    assert xs["a"] < xs["b"] == xs["c"] < xs["d"]
    ys = {n.step_id: n.y for n in placed.nodes}
    assert ys["b"] < ys["c"]  # file order within a column
    assert {n.step_id: n.state for n in placed.nodes}["d"] == "not run"
    assert len(placed.edges) == 4
    assert all(0 <= n.x <= placed.width and 0 <= n.y <= placed.height for n in placed.nodes)


def test_a_replay_verdict_becomes_divergences_with_json_paths() -> None:
    verdict = {
        "steps": [
            {
                "id": "validate",
                "original_status": "succeeded",
                "replay_status": "succeeded",
                "differences": ["$.error_count: expected 5, got 195"],
                "cause": "",
            },
            {
                "id": "enrich",
                "original_status": "succeeded",
                "replay_status": "failed",
                "differences": [],
                "cause": "HTTP 500",
            },
        ],
        "checks": [
            {"kind": "KPI", "name": "min_rate", "original": "met", "replay": "missed",
             "matches": False},
            {"kind": "Status", "name": "run", "original": "success", "replay": "failure",
             "matches": False},
        ],
        "request_divergences": ["step 'x' sent a request the recording does not hold: GET /"],
    }  # fmt: skip
    assert [(d.path, d.detail) for d in divergences_from(verdict)] == [
        ("$.steps.validate.outputs.error_count", "expected 5, got 195"),
        ("$.steps.enrich.status", "was succeeded, now failed: HTTP 500"),
        ("$.kpis.min_rate", "was met, now missed"),
        ("$.status", "was success, now failure"),
        ("$.exchanges", "step 'x' sent a request the recording does not hold: GET /"),
    ]


def test_recorded_text_is_escaped_not_markup() -> None:
    html = render([Section(run())])
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "<script" not in html  # the page has no script at all


def test_a_report_without_a_readable_definition_still_shows_the_run() -> None:
    html = render([Section(run(definition="steps: ["))])
    assert "No graph: the recorded definition could not be read." in html
    assert "3 attempts" in html
