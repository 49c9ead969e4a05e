"""A scenario's screenshot expectation: the step's image against a named baseline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rb.acceptance.observed import describe_step
from rb.engine.outcome import StepOutcome
from rb.errors import StepError
from rb.snapshots import IDENTICAL, OVER, Tolerance, compare_png
from rb.wording import plural


def compare_with_baseline(outcome: StepOutcome | None, baseline: Path) -> tuple[bool, str]:
    """Pixelmatch the step's screenshot with `baseline`, within the step's tolerance.

    Returns whether it matched and what was seen ("0.00% of pixels differ (identical)").
    """
    result = outcome.result if outcome is not None else None
    if outcome is None or outcome.status != "succeeded" or not isinstance(result, Mapping):
        return False, f"no screenshot: the step {describe_step(outcome)}"
    shot = Path(str(result.get("screenshot") or ""))
    if not shot.is_file():
        return False, f"no screenshot file {shot}"
    inputs = outcome.inputs if isinstance(outcome.inputs, Mapping) else {}
    tolerance = Tolerance.from_inputs(inputs)
    try:
        comparison, _ = compare_png(
            baseline.read_bytes(), shot.read_bytes(), str(baseline), tolerance.color_threshold
        )
    except StepError as exc:  # sizes differ: the message gives both
        return False, exc.message
    verdict = tolerance.verdict(comparison)
    seen = f"{comparison.share:.2%} of pixels differ"
    if verdict == IDENTICAL:
        return True, f"{seen} (identical)"
    how = "over the" if verdict == OVER else "within the"
    count = plural(comparison.mismatched, "pixel")
    return verdict != OVER, f"{seen} ({count}, {how} {tolerance.describe(comparison.total)})"
