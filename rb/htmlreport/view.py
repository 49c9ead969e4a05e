"""What a report shows, worked out from a recorded execution and its definition.

The template only lays these values out. Everything here comes from the
recording, which was masked before it was stored: a secret reads `***`, and
nothing in this module reads a secret from anywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rb.htmlreport.dag import Layout, layout
from rb.htmlreport.divergences import Divergence, divergences_from
from rb.htmlreport.images import Shots, screenshots
from rb.model import Kpi, Runbook
from rb.store.records import Execution, StepLog

MAX_TEXT = 4000  # characters of one request, response or output shown; the rest is counted
WAIT_TYPES = frozenset({"wait", "approval", "wait_event"})


@dataclass(frozen=True)
class Bar:
    """A timeline row: offsets and widths as percentages of the run's span."""

    step_id: str
    step_type: str
    status: str
    attempts: int
    start: str  # "+0.35s"
    duration: str
    left: float
    width: float
    wait_left: float  # ready (its dependencies done) to started: waiting, in %
    wait_width: float
    waits: bool  # a step whose work is waiting (wait, approval, event)


@dataclass(frozen=True)
class KpiRow:
    name: str
    measured: str
    limit: str
    detail: str
    ok: bool


@dataclass(frozen=True)
class ExchangeRow:
    seq: int
    step_id: str
    attempt: int
    kind: str
    summary: str
    request: str
    response: str
    error: str
    latency: str


@dataclass(frozen=True)
class OutputRow:
    step_id: str
    status: str
    summary: str
    error: str
    inputs: str
    outputs: str


@dataclass(frozen=True)
class View:
    """Everything one execution's section of a report shows."""

    title: str
    header: tuple[tuple[str, str], ...]
    status: str
    breached: tuple[str, ...]
    error: str
    execution_id: str
    params: str
    assumptions: tuple[Mapping[str, Any], ...]
    dag: Layout | None
    dag_note: str
    timeline: tuple[Bar, ...]
    span: str
    kpis: tuple[KpiRow, ...]
    exchanges: tuple[ExchangeRow, ...]
    outputs: tuple[OutputRow, ...]
    screenshots: tuple[Shots, ...]
    divergences: tuple[Divergence, ...] | None  # None: not a replay


def build(
    run: Execution,
    *,
    divergences: Sequence[Divergence] | None = None,
    base_dir: Path = Path("."),
) -> View:
    """The view of `run`; a replay's divergences come from its verdict when not given."""
    runbook = _runbook(run)
    meta = run.metadata
    if divergences is None and isinstance(meta.get("replay"), Mapping):
        divergences = divergences_from(meta["replay"])
    states = {s.step_id: s.status for s in run.steps}
    verified = "verified" if meta.get("actor_verified") else "unverified"
    header = (
        ("Runbook", f"{run.runbook_id} ({meta.get('name') or '?'})"),
        ("Version", run.runbook_version),
        ("Execution", run.id),
        ("Actor", f"{run.actor} ({verified})"),
        ("World", run.kind),
        ("Environment", str(meta.get("environment") or "none")),
        ("Started", _when(run.started_at)),
        ("Completed", _when(run.completed_at)),
        ("Duration", _seconds(run.duration_seconds)),
        ("Recorded", _when(run.recorded_at)),
        ("Legal basis", str(meta.get("legal_basis") or "none")),
    )
    return View(
        title=f"{run.runbook_id} {run.id[:8]}",
        header=header,
        status=run.status,
        breached=tuple(run.kpis_breached),
        error=run.error or "",
        execution_id=run.id,
        params=_json(meta.get("params", {})),
        assumptions=tuple(meta.get("assumptions") or ()),
        dag=layout(runbook, states) if runbook else None,
        dag_note="" if runbook else "the recorded definition could not be read",
        timeline=_timeline(run, runbook),
        span=_seconds(_span(run)),
        kpis=tuple(_kpi(k, runbook) for k in meta.get("kpis") or ()),
        exchanges=tuple(_exchange(e) for e in run.exchanges or ()),
        outputs=tuple(_output(s) for s in run.steps),
        screenshots=screenshots(run, base_dir),
        divergences=None if divergences is None else tuple(divergences),
    )


def _runbook(run: Execution) -> Runbook | None:
    from rb.loader import load_text

    return load_text(run.definition, run.definition_path).runbook


def _when(at: datetime | None) -> str:
    return "not yet" if at is None else at.isoformat(sep=" ", timespec="milliseconds")


def _seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}s"


def _json(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}\n… ({len(text) - MAX_TEXT} more characters in the recording)"


def _offset(run: Execution, at: datetime | None) -> float:
    return 0.0 if at is None else max((at - run.started_at).total_seconds(), 0.0)


def _span(run: Execution) -> float:
    ends = [_offset(run, s.completed_at) for s in run.steps] + [run.duration_seconds or 0.0]
    return max(ends)


def _timeline(run: Execution, runbook: Runbook | None) -> tuple[Bar, ...]:
    span = _span(run) or 1.0
    steps = {s.id: s for s in runbook.steps} if runbook else {}
    logs = {s.step_id: s for s in run.steps}
    bars = []
    for log in sorted(run.steps, key=lambda s: (_offset(run, s.started_at), s.seq)):
        if log.started_at is None:
            continue  # skipped before it started: not on the timeline
        start, end = _offset(run, log.started_at), _offset(run, log.completed_at or log.started_at)
        step = steps.get(log.step_id)
        deps = [logs[d] for d in (step.depends_on if step else ()) if d in logs]
        ready = max((_offset(run, d.completed_at) for d in deps if d.completed_at), default=start)
        ready = min(ready, start)
        bars.append(
            Bar(
                step_id=log.step_id,
                step_type=step.type if step else "?",
                status=log.status,
                attempts=log.attempts,
                start=f"+{start:.2f}s",
                duration=_seconds(log.duration_seconds),
                left=round(100 * start / span, 3),
                width=round(max(100 * (end - start) / span, 0.4), 3),
                wait_left=round(100 * ready / span, 3),
                wait_width=round(100 * (start - ready) / span, 3),
                waits=bool(step and step.type in WAIT_TYPES),
            )
        )
    return tuple(bars)


def _kpi(recorded: Mapping[str, Any], runbook: Runbook | None) -> KpiRow:
    name = str(recorded.get("name"))
    kpi = next((k for k in runbook.kpis if k.name == name), None) if runbook else None
    measured = recorded.get("measured")
    return KpiRow(
        name=name,
        measured="not measured" if measured is None else f"{measured:g}",
        limit=_limit(kpi),
        detail=str(recorded.get("detail") or ""),
        ok=bool(recorded.get("ok")),
    )


def _limit(kpi: Kpi | None) -> str:
    if kpi is None:
        return "?"
    if kpi.threshold is not None:
        sign = "≥" if kpi.name.startswith("min_") else "≤"
        return f"{sign} {kpi.threshold:g}"
    low = "" if kpi.minimum is None else f"{kpi.minimum:g} ≤ "
    high = "" if kpi.maximum is None else f" ≤ {kpi.maximum:g}"
    return f"{low}value{high}"


def _exchange(e: Any) -> ExchangeRow:
    request = e.request if isinstance(e.request, dict) else {}
    response = e.response
    if isinstance(response, dict) and "png_base64" in response:
        size = len(str(response["png_base64"])) * 3 // 4
        response = {**response, "png_base64": f"<PNG, about {size} bytes: shown below>"}
    if e.kind == "http":
        summary = f"{request.get('method', '')} {request.get('url', '')}"
    elif e.kind == "observe":
        summary = str(request.get("name", ""))
    else:
        summary = str(request.get("url") or request.get("command") or request.get("sql") or "")
    return ExchangeRow(
        seq=e.seq,
        step_id=e.step_id or "(run)",
        attempt=e.attempt,
        kind=e.kind,
        summary=summary[:160],
        request=_json(e.request),
        response="" if response is None else _json(response),
        error="" if e.error is None else _json(e.error),
        latency=_seconds(e.latency_seconds),
    )


def _output(log: StepLog) -> OutputRow:
    return OutputRow(
        step_id=log.step_id,
        status=log.status,
        summary=log.summary or "",
        error=log.error or log.skip_reason or "",
        inputs="" if log.inputs is None else _json(log.inputs),
        outputs="" if log.outputs is None else _json(log.outputs),
    )
