"""Assumptions (before the first step) and KPIs (after the last)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rb.engine.outcome import CheckResult, StepOutcome
from rb.expressions import ExpressionError, render_string
from rb.model import Assumption, Kpi


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


def _compare(kpi: Kpi, value: float) -> tuple[bool, str]:
    unit = "s" if kpi.name == "max_duration_seconds" else ""
    shown = f"{round(value, 4):g}{unit}"
    if kpi.name in ("max_duration_seconds", "max_error_rate"):
        assert kpi.threshold is not None
        ok = value <= kpi.threshold
        return ok, f"{shown} {'<=' if ok else '>'} {kpi.threshold:g}{unit}"
    if kpi.name == "min_success_rate":
        assert kpi.threshold is not None
        ok = value >= kpi.threshold
        return ok, f"{shown} {'>=' if ok else '<'} {kpi.threshold:g}"
    problems = []
    if kpi.minimum is not None and value < kpi.minimum:
        problems.append(f"< min {kpi.minimum:g}")
    if kpi.maximum is not None and value > kpi.maximum:
        problems.append(f"> max {kpi.maximum:g}")
    bounds = [
        f">= {kpi.minimum:g}" if kpi.minimum is not None else "",
        f"<= {kpi.maximum:g}" if kpi.maximum is not None else "",
    ]
    detail = " and ".join(b for b in bounds if b) or "recorded"
    return not problems, f"{shown} ({', '.join(problems) if problems else detail})"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else repr(value)
