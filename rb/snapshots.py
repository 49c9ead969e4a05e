"""Keeping UI screenshots and comparing them with their baselines.

Baselines live in screenshots/<runbook-id>/<step-id>.png. The actual shot
(and, when it differs, a diff image) is written to the run's output folder.

The verdict follows Playwright's `toHaveScreenshot`: by default any pixel that
differs (past pixelmatch's per-pixel colour threshold, and not anti-aliasing)
fails the step. A step may allow some with `max_diff_pixels` or
`max_diff_ratio` (both given: the stricter wins, as in Playwright), or mask
the region that changes.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rb.engine.context import ScreenshotPolicy
from rb.errors import StepError
from rb.wording import plural
from rb.world.base import Screenshot

if TYPE_CHECKING:
    from rb.engine.outcome import ExecutionResult

# pixelmatch's own default; Playwright's is 0.2. Measured here: 0 false alarms
# in 100 reruns of an unchanged page at 0.1 (benchmarks/RESULTS.md).
DEFAULT_COLOR_THRESHOLD = 0.1

# The step's verdict, in its result document.
IDENTICAL, WITHIN, OVER = "identical", "within_tolerance", "over_tolerance"


@dataclass(frozen=True)
class Comparison:
    mismatched: int
    total: int

    @property
    def share(self) -> float:
        return self.mismatched / self.total if self.total else 0.0


@dataclass(frozen=True)
class Tolerance:
    """How many differing pixels a step accepts, and what counts as differing."""

    max_diff_pixels: int | None = None
    max_diff_ratio: float | None = None
    color_threshold: float = DEFAULT_COLOR_THRESHOLD

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> Tolerance:
        """The tolerance a ui_screenshot step's (checked) inputs ask for."""
        pixels = inputs.get("max_diff_pixels")
        ratio = inputs.get("max_diff_ratio")
        return cls(
            max_diff_pixels=None if pixels is None else int(pixels),
            max_diff_ratio=None if ratio is None else float(ratio),
            color_threshold=float(inputs.get("color_threshold", DEFAULT_COLOR_THRESHOLD)),
        )

    def allowed_pixels(self, total: int) -> int:
        """Differing pixels that still pass, in an image of `total` pixels."""
        limits = [self.max_diff_pixels] if self.max_diff_pixels is not None else []
        if self.max_diff_ratio is not None:
            # Playwright fails when count > total * ratio: floor gives the same verdict.
            limits.append(math.floor(total * self.max_diff_ratio))
        return min(limits) if limits else 0

    def verdict(self, comparison: Comparison) -> str:
        """identical, within_tolerance or over_tolerance."""
        if comparison.mismatched == 0:
            return IDENTICAL
        allowed = self.allowed_pixels(comparison.total)
        return WITHIN if comparison.mismatched <= allowed else OVER

    def describe(self, total: int) -> str:
        """ "tolerance 0", "tolerance 100 pixels", "tolerance 0.50% (1401 pixels)"."""
        allowed = self.allowed_pixels(total)
        if allowed == 0:
            return "tolerance 0"
        if self.max_diff_ratio is not None and allowed != self.max_diff_pixels:
            return f"tolerance {self.max_diff_ratio:.2%} ({plural(allowed, 'pixel')})"
        return f"tolerance {plural(allowed, 'pixel')}"

    def as_dict(self, total: int) -> dict[str, Any]:
        return {
            "max_diff_pixels": self.max_diff_pixels,
            "max_diff_ratio": self.max_diff_ratio,
            "allowed_pixels": self.allowed_pixels(total),
            "color_threshold": self.color_threshold,
        }


def keep_and_compare(
    shot: Screenshot, policy: ScreenshotPolicy, step_id: str, tolerance: Tolerance
) -> dict[str, Any]:
    """Write the shot; compare with (or write) its baseline; the step's result.

    A shot over its tolerance raises a StepError that carries the result, so
    reports can show the comparison of a failed step too.
    """
    policy.output_dir.mkdir(parents=True, exist_ok=True)
    actual = policy.output_dir / f"{step_id}.png"
    actual.write_bytes(shot.png)
    result: dict[str, Any] = {
        "screenshot": str(actual),
        "width": shot.width,
        "height": shot.height,
        "baseline": None,
        "baseline_status": "none",
        "diff": None,
        "diff_share": None,
        "mismatched_pixels": None,
        "tolerance": None,
        "verdict": None,
    }
    if policy.baseline_dir is None:
        return result
    baseline = policy.baseline_dir / f"{step_id}.png"
    result["baseline"] = str(baseline)
    if policy.update or not baseline.exists():
        if not baseline.exists() and policy.ci and not policy.update:
            raise StepError(
                f"no baseline {baseline}: run `rb test ... --update-snapshots` where the "
                "page looks right and commit the image (CI never writes baselines)",
                retryable=False,
                kind="screenshot",
            )
        baseline.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(actual, baseline)
        result["baseline_status"] = "updated" if policy.update else "written"
        return result
    comparison, diff_png = compare_png(
        baseline.read_bytes(), shot.png, str(baseline), tolerance.color_threshold
    )
    verdict = tolerance.verdict(comparison)
    result.update(
        baseline_status="compared",
        diff_share=round(comparison.share, 6),
        mismatched_pixels=comparison.mismatched,
        tolerance=tolerance.as_dict(comparison.total),
        verdict=verdict,
    )
    if comparison.mismatched:
        diff = policy.output_dir / f"{step_id}.diff.png"
        diff.write_bytes(diff_png)
        result["diff"] = str(diff)
    if verdict == OVER:
        raise StepError(
            f"screenshot differs from {baseline}: {comparison.share:.2%} change "
            f"({plural(comparison.mismatched, 'pixel')}, {tolerance.describe(comparison.total)}), "
            f"diff at {result['diff']}; if intended, accept it with --update-snapshots "
            "(or mask the region, or allow some with max_diff_pixels)",
            retryable=False,
            kind="screenshot",
            result=result,
        )
    return result


def failed_checks(result: ExecutionResult) -> list[str]:
    """Steps whose screenshot check failed: over tolerance, no baseline under CI, other size.

    `rb test` fails on these even when the step's `on_failure: log_and_continue`
    let the run go on: that policy is about the procedure, not the check.
    """
    return [
        sid
        for sid, o in result.steps.items()
        if o.status == "failed" and o.error_kind == "screenshot"
    ]


def compare_png(
    baseline: bytes,
    actual: bytes,
    name: str,
    color_threshold: float = DEFAULT_COLOR_THRESHOLD,
) -> tuple[Comparison, bytes]:
    """Pixelmatch two PNG images: the counts and a diff image (PNG)."""
    from rb.imagediff import decode_png, encode_png, pixelmatch

    a = decode_png(baseline)
    b = decode_png(actual)
    if a.shape != b.shape:
        raise StepError(
            f"screenshot is {b.shape[1]}x{b.shape[0]} but baseline {name} is "
            f"{a.shape[1]}x{a.shape[0]}: fix the viewport or accept it with --update-snapshots",
            retryable=False,
            kind="screenshot",
        )
    found = pixelmatch(a, b, threshold=color_threshold)
    diff = encode_png(found.diff) if found.diff is not None else b""
    return Comparison(found.mismatched, found.total), diff
