"""A screenshot step's baseline, actual and diff images, as data: URIs.

The recording keeps each shot itself (a `screenshot` exchange's
`png_base64`); baselines live in screenshots/<runbook-id>/<step-id>.png
under the project (docs/screenshots.md). The diff is drawn again from the
two with rb's pixelmatch, so it always belongs to the images beside it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from rb.errors import StepError
from rb.store.records import Exchange, Execution

BASELINES = Path("screenshots")  # as rb test keeps them (rb.service.runner.BASELINES)
SHOTS = Path(".rb") / "screenshots"  # where a run writes its actual shots


@dataclass(frozen=True)
class Shots:
    """One screenshot step's images (None when there is none) and what to say about them."""

    step_id: str
    actual: str | None
    baseline: str | None
    diff: str | None
    note: str  # "identical", "412 pixels differ (0.15%)", "no baseline at ..."


def data_uri(png: bytes) -> str:
    """A PNG as a data: URI, so the report fetches nothing."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def screenshots(run: Execution, base_dir: Path) -> tuple[Shots, ...]:
    """Each screenshot step of `run`, in run order, with its three images."""
    shots: dict[str, bytes | None] = {}
    for e in run.exchanges or ():
        if e.kind == "screenshot":
            shots[e.step_id] = _png(e) or shots.get(e.step_id)
    return tuple(_shots(run.runbook_id, sid, png, base_dir) for sid, png in shots.items())


def _png(e: Exchange) -> bytes | None:
    response = e.response if isinstance(e.response, dict) else {}
    text = response.get("png_base64")
    return base64.b64decode(text) if isinstance(text, str) else None


def _shots(runbook_id: str, step_id: str, png: bytes | None, base_dir: Path) -> Shots:
    if png is None:  # the shot failed: the file it may have left behind
        kept = base_dir / SHOTS / runbook_id / f"{step_id}.png"
        png = kept.read_bytes() if kept.is_file() else None
    baseline_file = base_dir / BASELINES / runbook_id / f"{step_id}.png"
    baseline = baseline_file.read_bytes() if baseline_file.is_file() else None
    actual_uri = data_uri(png) if png else None
    if baseline is None:
        where = BASELINES / runbook_id / f"{step_id}.png"
        return Shots(step_id, actual_uri, None, None, f"no baseline at {where}")
    if png is None:
        return Shots(step_id, None, data_uri(baseline), None, "no screenshot was recorded")
    from rb.snapshots import compare_png

    try:
        found, diff = compare_png(baseline, png, str(baseline_file))
    except StepError as exc:  # another size: nothing to draw a diff of
        return Shots(step_id, actual_uri, data_uri(baseline), None, str(exc))
    note = (
        "identical"
        if found.mismatched == 0
        else f"{found.mismatched} pixels differ ({found.share:.2%})"
    )
    return Shots(step_id, actual_uri, data_uri(baseline), data_uri(diff) if diff else None, note)
