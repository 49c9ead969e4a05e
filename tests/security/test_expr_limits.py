"""Expressions that would hang, exhaust memory or crash end in a clear error."""

from __future__ import annotations

import pytest

from rb.engine.events import StepFailed
from rb.expressions import ExpressionError, parse, render_string
from rb.expressions.limits import MAX_WORK

from ..engine_helpers import run


def ev(text: str) -> object:
    return render_string(text, {"params": {}}.__getitem__)


CHAIN = "+".join(["1"] * 2000)


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        # The probe's payloads: each hung, exhausted memory or exited 3.
        ("${[[0]*1000000]*1000000 == [[0]*1000000]*1000000}", "too large", 2),
        ("${join(['a'*1000000]*1000000)}", "too large", 7),
        (f"${{{CHAIN}}}", "nested more than 100 levels", 2),
        ("${ {[1]: 2} }", "a mapping key must be text", 4),
        ("${round(float('inf'))}", "not a finite number", 8),
        ("${(-8)**0.5}", "not a real number", 2),
        ("${float('nan')}", "not a finite number", 2),
        ("${[1, 1e308 * 10]}", "not a finite number", 6),
        ("${1e999}", "not a finite number", 2),
        ("${10**999 * 10**999}", "more than 1000 digits", 2),
        ("${int('9' * 5000)}", "more than 1000 digits", 2),
        ("${replace('a' * 100000, 'a', 'a' * 100000)}", "too large", 2),
        ("${join(['ab'] * 1000, 'x' * 1000)}", "too large", 2),
        ("${sum([[1] * 10] * 10, [])}", "sum", 2),
        (
            "${" + " + ".join(["len([0] * 999999)"] * 20) + "}",
            "does too much work",
            2 + len(" + ".join(["len([0] * 999999)"] * (MAX_WORK // 999999))) + len(" + len("),
        ),
    ],
)
def test_hostile_expressions_fail_clearly(text: str, message: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as info:
        ev(text)
    assert message in info.value.message
    assert info.value.offset == offset


def test_values_within_the_bounds_still_work() -> None:
    assert ev("${len([0] * 1000000)}") == 1000000
    assert ev("${len('a' * 1000000)}") == 1000000
    assert ev("${unique([1, 1.0, [1], [1], 'a'])}") == [1, [1], "a"]
    assert ev("${10**100 > 0}") is True
    assert ev("${round(2.5)}") == 2


def test_data_nested_deeply_and_huge_rounding_fail_clearly() -> None:
    deep: list[object] = []
    for _ in range(5000):  # like a hostile 5000-level response
        deep = [deep]
    names = {"steps": {"f": {"outputs": {"deep": deep}}}}
    cases = {
        "${json(steps.f.outputs.deep)}": ("json(): the value is nested too deeply", 2),
        "deep: ${steps.f.outputs.deep}": ("the value is nested too deeply to put in text", 8),
        "${round(5, -1000000000)}": ("round(): digits must be between -1000 and 1000", 2),
    }
    for text, (message, offset) in cases.items():
        with pytest.raises(ExpressionError) as info:
            render_string(text, names.__getitem__)
        assert (info.value.message, info.value.offset) == (message, offset), text


def test_deep_nesting_is_refused_when_parsed() -> None:
    with pytest.raises(ExpressionError, match="nested more than 100"):
        parse("not " * 500 + "true")


def test_a_hostile_condition_fails_its_step_and_the_run_goes_on() -> None:
    result, events = run(
        """\
id: hostile
name: Hostile
version: "1"
steps:
  - id: a
    type: shell
    when: "${[[0]*1000000]*1000000 == [[0]*1000000]*1000000}"
    inputs: {command: echo}
  - id: b
    type: shell
    when: "${(-8)**0.5 > 0}"
    inputs: {command: echo}
""",
        "shell: [{request: {command: echo}, response: {stdout: hi}}]",
    )
    assert result.status == "failure"
    failed = {e.step_id: e.error for e in events.of(StepFailed)}
    assert "too large" in failed["a"] and "not a real number" in failed["b"]
    assert failed["a"].endswith("(at [[0] * 1000000])")  # names the part at fault
