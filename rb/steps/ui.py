"""ui_screenshot: capture a page or element in headless Chromium."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> Any:
    from rb.errors import StepError

    raise StepError(
        "ui_screenshot is not available yet in this version of rb (it arrives with the "
        "UI steps release); in a fixture, stub this step under stubs:",
        retryable=False,
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
            "threshold": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Share of differing pixels that fails the diff (default 0.01).",
            },
        },
    },
    result="`screenshot` (path of the PNG), `width` and `height`.",
    result_fields=("screenshot", "width", "height"),
    example={"url": "http://localhost:3000/entities", "selector": "#entity-list"},
    run=_run,
    summarize=lambda r: f"screenshot {r['width']}x{r['height']}",
)
