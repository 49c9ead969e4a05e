"""Loading: files, YAML positions, the model built from the format."""

from __future__ import annotations

from pathlib import Path

from rb.loader import load_file, load_text
from rb.model import OutputKind
from rb.policies import Retry
from rb.source import parse

from .conftest import DATA, diagnose

SEED = DATA / "seed_example.yaml"


def test_seed_example_validates_unchanged() -> None:
    text = SEED.read_text(encoding="utf-8")
    seed = Path(__file__).parents[2] / "shared" / "seeds" / "002_f089891ed1eb6658.txt"
    if seed.exists():  # the copy in tests/data is the seed's text, byte for byte
        assert text.strip() in seed.read_text(encoding="utf-8")
    diagnostics = diagnose(text)
    assert [d for d in diagnostics if d.severity.value == "error"] == []
    loaded = load_text(text)
    assert loaded.runbook is not None
    assert [s.id for s in loaded.runbook.steps] == [
        "ingest",
        "validate",
        "enrich",
        "report",
        "screenshot_ui",
    ]
    report = loaded.runbook.steps[3]
    assert report.outputs[0].kind is OutputKind.LITERAL and report.outputs[0].value is True
    assert loaded.runbook.steps[0].inputs["source_url"] == "${SOURCE_API_URL}"


def test_unreadable_files_are_reported_not_raised(tmp_path: Path) -> None:
    binary = tmp_path / "bad.yaml"
    binary.write_bytes(b"\xff\xfe\x00id: x")
    (d,) = load_file(binary).diagnostics
    assert (d.code, d.line, d.col) == ("RB001", 1, 1)
    assert "not UTF-8" in d.message
    (d,) = load_file(tmp_path / "missing.yaml").diagnostics
    assert d.code == "RB001" and "cannot read" in d.message


def test_empty_file_is_not_a_runbook() -> None:
    (d,) = load_text("", "empty.yaml").diagnostics
    assert d.code == "RB004" and "this file is empty" in d.message


def test_defaults_fill_in_retry_timeout_and_on_failure() -> None:
    loaded = load_text(
        """
id: d
name: Defaults
version: "1"
defaults:
  retry: {max_attempts: 3, initial_delay_seconds: 2}
  timeout_seconds: 30
  on_failure: log_and_continue
steps:
  - {id: a, type: wait, inputs: {seconds: 1}}
  - id: b
    type: wait
    depends_on: [a]
    retry: {multiplier: 3}
    timeout_seconds: 5
    on_failure: abort
    inputs: {seconds: 1}
"""
    )
    assert loaded.runbook is not None
    a, b = loaded.runbook.steps
    assert a.retry == Retry(max_attempts=3, initial_delay_seconds=2.0)
    assert (a.timeout_seconds, a.on_failure) == (30, "log_and_continue")
    assert b.retry == Retry(max_attempts=3, initial_delay_seconds=2.0, multiplier=3.0)
    assert (b.timeout_seconds, b.on_failure) == (5, "abort")
    assert [b.retry.delay(n) for n in (1, 2, 3)] == [2.0, 6.0, 18.0]


def test_output_kinds() -> None:
    loaded = load_text(
        """
id: o
name: Outputs
version: "1"
steps:
  - id: a
    type: wait
    inputs: {seconds: 1}
    outputs: {path: "$.polls", expr: "${result.polls + 1}", flag: true, label: done}
"""
    )
    assert loaded.runbook is not None
    kinds = {o.name: o.kind for o in loaded.runbook.steps[0].outputs}
    assert kinds == {
        "path": OutputKind.JSONPATH,
        "expr": OutputKind.EXPRESSION,
        "flag": OutputKind.LITERAL,
        "label": OutputKind.LITERAL,
    }


def test_positions_of_keys_values_and_characters_in_strings() -> None:
    text = 'a: 1\nb:\n  - x: "hello ${foo}"\n  - y: |\n      line one\n      two ${bar}\n'
    doc, diagnostics = parse(text, "t.yaml")
    assert doc is not None and diagnostics == []
    assert doc.position(("b", 0, "x")) == doc.position(("b", 0, "x"))
    assert (doc.position(("b", 0, "x")).line, doc.position(("b", 0, "x")).col) == (3, 8)
    assert doc.position(("b", 1, "y"), key=True).col == 5
    assert doc.string_offset(("b", 0, "x"), 6).col == 15  # the '$' inside the quotes
    pos = doc.string_offset(("b", 1, "y"), len("line one\ntwo "))
    assert (pos.line, pos.col) == (6, 11)  # in a block scalar
    assert doc.position(("b", 5)).line == 3  # missing: reported at the container


def test_yaml_merge_keys_are_supported() -> None:
    diagnostics = diagnose(
        """
id: merge
name: Merge keys
version: "1"
steps:
  - &base {id: a, type: wait, inputs: {seconds: 1}}
  - <<: *base
    id: b
    depends_on: [a]
"""
    )
    assert diagnostics == []
