"""ui_screenshot: capture a page or element in headless Chromium."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> Any:
    from rb.snapshots import Tolerance, keep_and_compare
    from rb.world.base import ScreenshotRequest

    viewport = inputs.get("viewport") or {"width": 1280, "height": 800}
    request = ScreenshotRequest(
        url=str(inputs["url"]),
        selector=inputs.get("selector"),
        full_page=bool(inputs.get("full_page", False)),
        viewport=(int(viewport["width"]), int(viewport["height"])),
        device_scale_factor=float(inputs.get("device_scale_factor", 1.0)),
        wait_for=inputs.get("wait_for"),
        wait_for_network_idle=bool(inputs.get("wait_for_network_idle", False)),
        masks=tuple(inputs.get("masks") or ()),
        animations=str(inputs.get("animations", "disabled")),
    )
    shot = await ctx.world.screenshot(request, step_id=ctx.step_id)
    return keep_and_compare(shot, ctx.screenshots, ctx.step_id, Tolerance.from_inputs(inputs))


def _summary(result: Any) -> str:
    # The comparison, or the baseline written, has a line of its own in reports
    # (rb.cli.render.screenshot_lines), so it is not repeated here.
    return f"screenshot {result['width']}x{result['height']}"


# `threshold` was the share of pixels allowed to differ until rb followed
# Playwright's default (any differing pixel fails); a runbook that still has
# it is stopped at validation rather than silently read another way.
_THRESHOLD_MOVED = (
    "`threshold` was the share of pixels allowed to differ and is no longer read: delete it "
    "(any differing pixel then fails, as in Playwright's toHaveScreenshot), or keep that "
    "tolerance as max_diff_ratio with the same value; the per-pixel colour sensitivity is "
    "now color_threshold"
)


UI_SCREENSHOT = StepType(
    name="ui_screenshot",
    summary="Screenshot a page or one element in headless Chromium (Playwright).",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {"type": "string"},
            "selector": {"type": "string", "description": "Element to capture (else the page)."},
            "full_page": {"type": "boolean"},
            "viewport": {
                "type": "object",
                "additionalProperties": False,
                "required": ["width", "height"],
                "properties": {
                    "width": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "height": {"type": "integer", "minimum": 1, "maximum": 10000},
                },
            },
            "device_scale_factor": {"type": "number", "exclusiveMinimum": 0, "maximum": 4},
            "wait_for": {"type": "string", "description": "Selector to wait for first."},
            "wait_for_network_idle": {"type": "boolean"},
            "masks": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Selectors painted over (clocks, avatars).",
            },
            "animations": {"enum": ["disabled", "allow"]},
            "max_diff_pixels": {
                "type": "integer",
                "minimum": 0,
                "description": "Differing pixels that still pass (default 0).",
            },
            "max_diff_ratio": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Share of pixels that may differ and still pass (default 0).",
            },
            "color_threshold": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Per-pixel colour difference that counts a pixel as "
                "differing, 0 (strict) to 1 (lax); pixelmatch's threshold, default 0.1.",
            },
            "threshold": {"not": {}, "x-hint": _THRESHOLD_MOVED, "deprecated": True},
        },
    },
    result=(
        "`screenshot` (path of the PNG), `width`, `height`; under `rb test` also "
        "`baseline` (its path), `baseline_status` (compared, written, updated), "
        "`diff_share` (share of differing pixels), `mismatched_pixels`, `diff` "
        "(path of the diff image, when pixels differ), `tolerance` (max_diff_pixels, "
        "max_diff_ratio, allowed_pixels, color_threshold) and `verdict` (identical, "
        "within_tolerance, over_tolerance)."
    ),
    result_fields=(
        "screenshot",
        "width",
        "height",
        "baseline",
        "baseline_status",
        "diff",
        "diff_share",
        "mismatched_pixels",
        "tolerance",
        "verdict",
    ),
    example={"url": "http://localhost:3000/entities", "selector": "#entity-list"},
    run=_run,
    summarize=_summary,
)
