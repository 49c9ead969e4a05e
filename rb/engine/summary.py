"""A step's one-line summary: what it produced, for reports and the live view.

In order: the step's `summary:` template; else its list outputs counted by
name (`200 entities`, `195 valid entities, 5 errors`); else the step type's
own summary (`exit 0, 3 lines of output`); else `ok`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rb.engine.outcome import StepOutcome
from rb.expressions import ExpressionError
from rb.model import Step
from rb.step_type import SummaryFn
from rb.wording import count_of


def step_summary(
    step: Step,
    outcome: StepOutcome,
    summarize: SummaryFn | None,
    evaluate: Callable[[str, Mapping[str, Any]], Any],
) -> str:
    """The summary of a step that succeeded; never fails the step.

    `evaluate(text, names)` renders a template with the run's names plus
    `names` (here `outputs` and `result`).
    """
    if step.summary is not None:
        try:
            text = evaluate(step.summary, {"outputs": outcome.outputs, "result": outcome.result})
        except ExpressionError as exc:
            return f"summary cannot be evaluated: {exc.message}"
        return text if isinstance(text, str) else str(text)
    if step.for_each is not None:
        return count_of(len(outcome.result), "items")
    counted = [
        count_of(len(value), o.name.replace("_", " "))
        for o in step.outputs
        if isinstance(value := outcome.outputs.get(o.name), list)
    ]
    if counted:
        return ", ".join(counted)
    if summarize is None:
        return "ok"
    try:
        return summarize(outcome.result)
    except Exception:  # a summary is cosmetic: never fail a step over it
        return "ok"
