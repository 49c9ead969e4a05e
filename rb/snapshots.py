"""Keeping UI screenshots and comparing them with their baselines.

Baselines live in screenshots/<runbook-id>/<step-id>.png. The actual shot
(and, when it differs, a diff image) is written to the run's output folder.
A step fails when the share of differing pixels passes its threshold.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from rb.engine.context import ScreenshotPolicy
from rb.errors import StepError
from rb.world.base import Screenshot

DEFAULT_THRESHOLD = 0.01  # share of pixels (1 %), as the seed asks


@dataclass(frozen=True)
class Comparison:
    mismatched: int
    total: int

    @property
    def share(self) -> float:
        return self.mismatched / self.total if self.total else 0.0


def keep_and_compare(
    shot: Screenshot, policy: ScreenshotPolicy, step_id: str, threshold: float
) -> dict[str, Any]:
    """Write the shot; compare with (or write) its baseline; the step's result."""
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
    comparison, diff_png = compare_png(baseline.read_bytes(), shot.png, str(baseline))
    result.update(
        baseline_status="compared",
        diff_share=round(comparison.share, 6),
        mismatched_pixels=comparison.mismatched,
    )
    if comparison.mismatched:
        diff = policy.output_dir / f"{step_id}.diff.png"
        diff.write_bytes(diff_png)
        result["diff"] = str(diff)
    if comparison.share > threshold:
        raise StepError(
            f"screenshot differs from {baseline} in {comparison.share:.2%} of pixels "
            f"(threshold {threshold:.2%}); see {result['diff']} and {actual}",
            retryable=False,
            kind="screenshot",
        )
    return result


def compare_png(baseline: bytes, actual: bytes, name: str) -> tuple[Comparison, bytes]:
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
    found = pixelmatch(a, b)
    diff = encode_png(found.diff) if found.diff is not None else b""
    return Comparison(found.mismatched, found.total), diff
