"""Assumptions (before the first step) and KPIs (after the last)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rb.engine.outcome import CheckResult, StepOutcome
from rb.expressions import ExpressionError, parse, render_string, split
from rb.model import Assumption, Kpi
from rb.wording import seconds


def check_assumption(
    a: Assumption, facts: Mapping[str, Any], resolver: Callable[[str], Any]
) -> CheckResult:
    """A fact must equal its expected value; a check expression must be true."""
    if a.check is not None:
        try:
            ok = bool(render_string(a.check, resolver))
        except ExpressionError as exc:
            return CheckResult(a.id, False, f"check cannot be evaluated: {exc.message}")
        return CheckResult(a.id, ok, a.description or a.check if ok else f"{a.check} is false")
    if a.id not in facts:
        return CheckResult(
            a.id, False, f"fact {a.id!r} was not given (fixture facts:, or --fact {a.id}=...)"
        )
    actual = facts[a.id]
    if actual == a.expected:
        return CheckResult(a.id, True, f"{a.id} = {_show(actual)}")
    return CheckResult(a.id, False, f"expected {_show(a.expected)}, the fact is {_show(actual)}")


def success_rate(outcomes: Mapping[str, StepOutcome]) -> float:
    """Share of steps that ran and succeeded (skipped steps do not count)."""
    ran = [o for o in outcomes.values() if o.status in ("succeeded", "failed")]
    if not ran:
        return 1.0
    return sum(o.status == "succeeded" for o in ran) / len(ran)


def check_kpi(
    kpi: Kpi,
    outcomes: Mapping[str, StepOutcome],
    duration: float,
    resolver: Callable[[str], Any],
) -> CheckResult:
    """Measure one KPI (its expression, or the documented default) and compare."""
    if kpi.measure is not None:
        unrun = _steps_not_succeeded(kpi.measure, outcomes)
        if unrun:
            # The step's own line says why; repeating its error here would
            # report one problem once per KPI.
            o = outcomes[unrun[0]]
            why = "failed" if o.status == "failed" else "did not run"
            return CheckResult(kpi.name, False, f"not measured: step {o.step_id!r} {why}")
        try:
            value = render_string(kpi.measure, resolver)
        except ExpressionError as exc:
            return CheckResult(kpi.name, False, f"measure cannot be evaluated: {exc.message}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return CheckResult(kpi.name, False, f"measure gave {value!r}, not a number")
        measured = float(value)
    elif kpi.name == "max_duration_seconds":
        measured = duration
    elif kpi.name == "min_success_rate":
        measured = success_rate(outcomes)
    else:  # max_error_rate
        measured = 1.0 - success_rate(outcomes)
    return CheckResult(kpi.name, *_compare(kpi, measured), measured=measured)


def _steps_not_succeeded(measure: str, outcomes: Mapping[str, StepOutcome]) -> list[str]:
    """The steps whose outputs `measure` reads but that did not succeed, in order."""
    found: list[str] = []
    try:
        for segment in split(measure):
            if segment.expr is None:
                continue
            for ref in parse(segment.expr).references():
                if ref.root != "steps" or len(ref.parts) < 2 or ref.parts[1] != "outputs":
                    continue
                sid = str(ref.parts[0])
                o = outcomes.get(sid)
                if o is not None and o.status != "succeeded" and sid not in found:
                    found.append(sid)
    except ExpressionError:  # reported when it is evaluated
        return []
    return found


def _compare(kpi: Kpi, value: float) -> tuple[bool, str]:
    if kpi.name == "max_duration_seconds":
        assert kpi.threshold is not None
        ok = value <= kpi.threshold
        return ok, f"{seconds(value)} {'<=' if ok else '>'} {seconds(kpi.threshold)}"
    shown = f"{round(value, 4):g}"
    if kpi.name == "max_error_rate":
        assert kpi.threshold is not None
        ok = value <= kpi.threshold
        return ok, f"{shown} {'<=' if ok else '>'} {kpi.threshold:g}"
    if kpi.name == "min_success_rate":
        assert kpi.threshold is not None
        ok = value >= kpi.threshold
        return ok, f"{shown} {'>=' if ok else '<'} {kpi.threshold:g}"
    low, high = kpi.minimum, kpi.maximum
    if low is not None and value < low:
        return False, f"{shown} < min {low:g}"
    if high is not None and value > high:
        return False, f"{shown} > max {high:g}"
    if low is not None and high is not None:
        return True, f"{low:g} <= {shown} <= {high:g}"
    if low is not None:
        return True, f"{shown} >= {low:g}"
    if high is not None:
        return True, f"{shown} <= {high:g}"
    return True, f"{shown}, recorded"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else repr(value)
