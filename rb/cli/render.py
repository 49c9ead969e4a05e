"""Showing a run to a person: a live view, plain progress lines, the summary.

Rich is imported only for the live view on a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rb.engine.events import (
    AttemptFailed,
    Event,
    RetryScheduled,
    RunControlled,
    RunFinished,
    StepFailed,
    StepRestored,
    StepRolledBack,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    StepWaiting,
)
from rb.engine.outcome import ExecutionResult
from rb.report import GoldenCheck
from rb.wording import plural

OK, BAD, SKIP = "✓", "✗", "-"


def summary_lines(result: ExecutionResult, golden: GoldenCheck | None = None) -> list[str]:
    """The seed's report: assumptions, steps, KPIs and the golden comparison."""
    lines = [
        f"{OK if a.ok else BAD} Assumption: {a.name}" + ("" if a.ok else f" ({a.detail})")
        for a in result.assumptions
    ]
    for sid, o in result.steps.items():
        if o.status == "succeeded":
            retries = o.attempts - (o.items if o.items is not None else 1)
            extra = f", {retries} retr{'ies' if retries > 1 else 'y'}" if retries > 0 else ""
            back = ", rolled back" if o.rolled_back else ""
            restored = ", restored from the recording" if o.restored else ""
            lines.append(f"{OK} Step: {sid} ({o.summary}{extra}{back}{restored})")
        elif o.status == "failed":
            lines.append(f"{BAD} Step: {sid} (failed: {o.error})")
        elif o.status in ("waiting", "pending") and result.status == "waiting":
            why = f"waiting for {o.waiting_for.kind}" if o.waiting_for else "not started yet"
            lines.append(f"{SKIP} Step: {sid} ({why})")
        else:
            lines.append(f"{SKIP} Step: {sid} (skipped: {o.reason or o.status})")
    for k in result.kpis:
        lines.append(f"{OK if k.ok else BAD} KPI: {k.name} ({k.detail})")
    lines.extend(screenshot_lines(result))
    if golden is not None:
        if golden.updated:
            lines.append(f"{OK} Outputs written to {golden.path} (not compared)")
        elif golden.written:
            lines.append(f"{OK} Outputs: new golden file {golden.path} (review and commit it)")
        elif not golden.exists:
            # After a failed run the missing file is not what failed it.
            mark = BAD if result.status == "success" else SKIP
            lines.append(f"{mark} Outputs: no golden file {golden.path}: {golden.missing}")
        elif golden.ok:
            lines.append(f"{OK} Outputs match {golden.path}")
        else:
            lines.append(f"{BAD} Outputs differ from {golden.path}:")
            lines.extend(f"    {d}" for d in golden.differences)
    return lines


def screenshot_lines(result: ExecutionResult) -> list[str]:
    """One "Screenshot diff" line per screenshot step that was compared or given a baseline.

    Read from the step's result document (rb.snapshots), which a step that
    failed its comparison keeps too.
    """
    docs = {
        sid: o.result
        for sid, o in result.steps.items()
        if isinstance(o.result, dict) and o.result.get("baseline_status") not in (None, "none")
    }
    lines = []
    for sid, doc in docs.items():
        label = "Screenshot diff" + (f" ({sid})" if len(docs) > 1 else "")
        if doc["baseline_status"] != "compared":
            lines.append(f"{SKIP} {label}: baseline {doc['baseline_status']}: {doc['baseline']}")
            continue
        change = f"{doc['diff_share']:.2%} change"
        verdict = doc.get("verdict")
        if verdict == "identical":
            lines.append(f"{OK} {label}: {change} (identical)")
        elif verdict == "within_tolerance":
            lines.append(f"{OK} {label}: {change} (within threshold)")
        else:
            count = doc["mismatched_pixels"]
            allowed = doc["tolerance"]["allowed_pixels"]
            lines.append(
                f"{BAD} {label}: {change} ({plural(count, 'pixel')}, tolerance {allowed}) "
                f"— diff at {doc['diff']}"
            )
    return lines


class PlainProgress:
    """One line per event that matters, for logs and pipes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        line = _line(event)
        if line:
            self.out.write(line + "\n")
            self.out.flush()


def _line(event: Event) -> str | None:
    if isinstance(event, StepStarted):
        item = f" item {event.item_index}" if event.item_index is not None else ""
        again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
        return f"start   {event.step_id}{item}{again}"
    if isinstance(event, AttemptFailed):
        return f"error   {event.step_id}: {event.error}"
    if isinstance(event, RetryScheduled):
        return (
            f"retry   {event.step_id}: attempt {event.next_attempt} in {event.delay_seconds:.2f}s"
        )
    if isinstance(event, StepSucceeded):
        return f"ok      {event.step_id} ({event.summary}) {event.duration_seconds:.2f}s"
    if isinstance(event, StepFailed):
        return f"failed  {event.step_id}: {event.error} (on_failure: {event.on_failure})"
    if isinstance(event, StepSkipped):
        return f"skipped {event.step_id}: {event.reason}"
    if isinstance(event, StepRolledBack):
        return f"rollback {event.step_id}: {'done' if event.ok else 'failed: ' + event.error}"
    if isinstance(event, StepRestored):
        return f"restored {event.step_id}: {event.status} (from the recording, not run)"
    if isinstance(event, StepWaiting):
        return f"waiting {event.step_id}: for {event.waiting_for.get('kind')}"
    if isinstance(event, RunControlled):
        return f"{event.action}: {event.detail}" if event.detail else event.action
    if isinstance(event, RunFinished):
        return f"finished: {event.status} in {event.duration_seconds:.2f}s"
    return None


class LiveView:
    """A rich table of steps that updates as events arrive (terminals only)."""

    def __init__(self, step_ids: list[str], out: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        self._rows: dict[str, list[str]] = {sid: ["waiting", "", ""] for sid in step_ids}
        self._console = Console(file=out)
        self._live = Live(self._table(), console=self._console, refresh_per_second=8)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.update(self._table())
        self._live.__exit__(*exc)

    def __call__(self, event: Event) -> None:
        row = self._rows.get(getattr(event, "step_id", ""))
        if isinstance(event, StepStarted) and row is not None:
            row[0] = "running" if event.attempt == 1 else f"running (attempt {event.attempt})"
        elif isinstance(event, RetryScheduled) and row is not None:
            row[0] = f"retry in {event.delay_seconds:.1f}s"
        elif isinstance(event, StepSucceeded) and row is not None:
            row[:] = ["passed", f"{event.duration_seconds:.2f}s", event.summary]
        elif isinstance(event, StepFailed) and row is not None:
            row[:] = ["failed", f"{event.duration_seconds:.2f}s", event.error]
        elif isinstance(event, StepSkipped) and row is not None:
            row[:] = ["skipped", "", event.reason]
        elif isinstance(event, StepRolledBack) and row is not None:
            row[0] = "rolled back" if event.ok else "rollback failed"
        self._live.update(self._table())

    def _table(self) -> Any:
        from rich.markup import escape
        from rich.table import Table

        styles = {"passed": "green", "failed": "red", "skipped": "dim", "waiting": "dim"}
        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("step", "status", "time", "detail"):
            table.add_column(column)
        for sid, (status, duration, detail) in self._rows.items():
            style = styles.get(status.split()[0], "yellow")
            # Step ids and errors are the user's text, never markup.
            table.add_row(escape(sid), f"[{style}]{escape(status)}[/]", duration, escape(detail))
        return table


def is_terminal(out: TextIO = sys.stdout) -> bool:
    return bool(getattr(out, "isatty", lambda: False)())


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain text columns, each as wide as its widest cell (the last one left ragged)."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip() + "\n")
    return "".join(lines)
