"""`rb runs stats`: a runbook's recorded runs as the numbers KPIs are set from.

Counts and statuses are aggregated in SQL; percentiles are taken in Python
over the selected durations (nearest rank: always a value that was observed).
Only finished runs of the chosen worlds recorded since a time are read;
replays are never counted (they re-run a recording, they are not operations).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import and_, case, func, select

from rb.store.database import Store
from rb.store.records import aware
from rb.store.tables import exchanges, executions, step_logs

WORLDS = {"live": ("live",), "fixture": ("fixture",), "all": ("live", "fixture")}
UNFINISHED = ("queued", "running", "waiting")
_ENDPOINT_KINDS = ("http", "sql", "shell", "screenshot")


@dataclass(frozen=True)
class Spread:
    """Nearest-rank percentiles of some durations, in seconds (None: no values)."""

    count: int
    p50: float | None
    p95: float | None
    max: float | None

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "p50": self.p50, "p95": self.p95, "max": self.max}


@dataclass(frozen=True)
class StepStats:
    """One step over the runs: how often it ran, how long, how often retried or failed."""

    step_id: str
    ran: int  # logs that succeeded or failed (skipped steps did not run)
    skipped: int
    duration: Spread
    retried_rate: float | None  # share of runs of the step that took more than one attempt
    failure_rate: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "ran": self.ran,
            "skipped": self.skipped,
            "duration": self.duration.to_json(),
            "retried_rate": self.retried_rate,
            "failure_rate": self.failure_rate,
        }


@dataclass(frozen=True)
class EndpointStats:
    """One dependency: `GET https://host/path`, a database, a command, a page."""

    kind: str  # http | sql | shell | screenshot
    target: str
    latency: Spread
    errors: int

    @property
    def error_rate(self) -> float | None:
        return _rate(self.errors, self.latency.count)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "count": self.latency.count,
            "latency": self.latency.to_json(),
            "errors": self.errors,
            "error_rate": self.error_rate,
        }


@dataclass(frozen=True)
class ErrorCount:
    """How many errors of one kind one source had in one time bucket."""

    bucket: datetime  # the bucket's start, UTC
    source: str  # exchange | step
    kind: str
    count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket.isoformat(),
            "source": self.source,
            "kind": self.kind,
            "count": self.count,
        }


@dataclass(frozen=True)
class RunbookStats:
    """Everything `rb runs stats` shows for one runbook."""

    runbook_id: str
    world: str
    since: datetime
    bucket_seconds: int
    statuses: Mapping[str, int]  # every run in the window, by status
    duration: Spread  # finished runs
    steps: tuple[StepStats, ...]
    endpoints: tuple[EndpointStats, ...]
    errors: tuple[ErrorCount, ...]

    @property
    def runs(self) -> int:
        return sum(self.statuses.values())

    @property
    def finished(self) -> int:
        return sum(n for s, n in self.statuses.items() if s not in UNFINISHED)

    @property
    def success_rate(self) -> float | None:
        return _rate(self.statuses.get("success", 0), self.finished)

    def to_json(self) -> dict[str, Any]:
        return {
            "runbook_id": self.runbook_id,
            "world": self.world,
            "since": self.since.isoformat(),
            "bucket_seconds": self.bucket_seconds,
            "percentiles": "nearest-rank",
            "runs": self.runs,
            "finished": self.finished,
            "statuses": dict(self.statuses),
            "success_rate": self.success_rate,
            "duration": self.duration.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "endpoints": [e.to_json() for e in self.endpoints],
            "errors": [e.to_json() for e in self.errors],
        }


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The nearest-rank p-th percentile of sorted values: the value at rank ceil(p/100 * n)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Iterable[float]) -> Spread:
    """p50, p95 and max of some durations."""
    ordered = sorted(values)
    return Spread(
        len(ordered),
        percentile(ordered, 50),
        percentile(ordered, 95),
        ordered[-1] if ordered else None,
    )


def has_runs(store: Store, runbook_id: str) -> bool:
    """Whether the store holds any run of this runbook (any world, any time)."""
    query = select(executions.c.id).where(executions.c.runbook_id == runbook_id).limit(1)
    with store.connect() as conn:
        return conn.execute(query).first() is not None


def runbook_stats(
    store: Store, runbook_id: str, *, since: datetime, world: str, bucket_seconds: int
) -> RunbookStats:
    """The numbers for `runbook_id`'s runs in `world` (a WORLDS key) recorded since `since`."""
    since = since.astimezone(UTC)
    # SQLite keeps naive UTC times; a naive bound compares the same on both.
    bound = since.replace(tzinfo=None) if store.is_sqlite else since
    chosen = and_(
        executions.c.runbook_id == runbook_id,
        executions.c.recorded_at >= bound,
        executions.c.world.in_(WORLDS[world]),
    )
    with store.connect() as conn:
        statuses = {
            str(r.status): int(r.n)
            for r in conn.execute(
                select(executions.c.status, func.count().label("n"))
                .where(chosen)
                .group_by(executions.c.status)
            )
        }
        runs = conn.execute(
            select(
                executions.c.id,
                executions.c.recorded_at,
                executions.c.duration_seconds,
                executions.c.status,
            ).where(chosen)
        ).all()
        steps = _steps(conn, chosen)
        failed = conn.execute(
            select(step_logs.c.execution_id, step_logs.c.errors)
            .join(executions, executions.c.id == step_logs.c.execution_id)
            .where(chosen, step_logs.c.status == "failed")
        ).all()
        calls = conn.execute(
            select(
                exchanges.c.execution_id,
                exchanges.c.kind,
                exchanges.c.request,
                exchanges.c.response,
                exchanges.c.error,
                exchanges.c.latency_seconds,
            )
            .join(executions, executions.c.id == exchanges.c.execution_id)
            .where(chosen, exchanges.c.kind.in_(_ENDPOINT_KINDS))
        ).all()
    recorded_at = {r.id: aware(r.recorded_at) for r in runs}
    bucket = _bucketer(bucket_seconds)
    errors: Counter[tuple[datetime, str, str]] = Counter()
    endpoints, failures = _endpoints(calls)
    for run_id, kind in failures:
        errors[(bucket(recorded_at[run_id]), "exchange", kind)] += 1
    for row in failed:
        kind = _step_error_kind(row.errors or {})
        errors[(bucket(recorded_at[row.execution_id]), "step", kind)] += 1
    return RunbookStats(
        runbook_id=runbook_id,
        world=world,
        since=since,
        bucket_seconds=bucket_seconds,
        statuses=dict(sorted(statuses.items())),
        duration=spread(
            r.duration_seconds
            for r in runs
            if r.duration_seconds is not None and r.status not in UNFINISHED
        ),
        steps=steps,
        endpoints=endpoints,
        errors=tuple(ErrorCount(*key, n) for key, n in sorted(errors.items())),
    )


def _steps(conn: Any, chosen: Any) -> tuple[StepStats, ...]:
    """Per step: counts in SQL, durations read for the percentiles."""
    joined = step_logs.join(executions, executions.c.id == step_logs.c.execution_id)
    ran = step_logs.c.status != "skipped"
    counts = conn.execute(
        select(
            step_logs.c.step_id,
            func.sum(case((ran, 1), else_=0)).label("ran"),
            func.sum(case((step_logs.c.status == "skipped", 1), else_=0)).label("skipped"),
            func.sum(case((and_(ran, step_logs.c.attempts > 1), 1), else_=0)).label("retried"),
            func.sum(case((step_logs.c.status == "failed", 1), else_=0)).label("failed"),
        )
        .select_from(joined)
        .where(chosen)
        .group_by(step_logs.c.step_id)
        .order_by(step_logs.c.step_id)
    ).all()
    durations: dict[str, list[float]] = {}
    for r in conn.execute(
        select(step_logs.c.step_id, step_logs.c.duration_seconds)
        .select_from(joined)
        .where(chosen, ran, step_logs.c.duration_seconds.is_not(None))
    ):
        durations.setdefault(r.step_id, []).append(r.duration_seconds)
    return tuple(
        StepStats(
            step_id=r.step_id,
            ran=int(r.ran),
            skipped=int(r.skipped),
            duration=spread(durations.get(r.step_id, ())),
            retried_rate=_rate(int(r.retried), int(r.ran)),
            failure_rate=_rate(int(r.failed), int(r.ran)),
        )
        for r in counts
    )


def _endpoints(
    calls: Sequence[Any],
) -> tuple[tuple[EndpointStats, ...], list[tuple[str, str]]]:
    """Exchanges grouped by dependency, and (execution, error kind) for each failed one."""
    latencies: dict[tuple[str, str], list[float]] = {}
    errors: Counter[tuple[str, str]] = Counter()
    failures = []
    for c in calls:
        key = (c.kind, endpoint_of(c.kind, c.request or {}))
        latencies.setdefault(key, []).append(c.latency_seconds or 0.0)
        kind = exchange_error(c.kind, c.response, c.error)
        if kind is not None:
            errors[key] += 1
            failures.append((c.execution_id, kind))
    found = tuple(
        EndpointStats(kind, target, spread(values), errors[(kind, target)])
        for (kind, target), values in sorted(latencies.items())
    )
    return found, failures


def endpoint_of(kind: str, request: Mapping[str, Any]) -> str:
    """The dependency an exchange went to, without query strings (they vary per call)."""
    if kind == "http":
        return f"{request.get('method', '?')} {_no_query(str(request.get('url', '')))}"
    if kind == "sql":  # as recorded: a secret's placeholder, or the URL without its password
        return _no_query(str(request.get("database_url", "")))
    if kind == "shell":
        return str(request.get("command", ""))
    return _no_query(str(request.get("url", "")))


def exchange_error(
    kind: str, response: Mapping[str, Any] | None, error: Mapping[str, Any] | None
) -> str | None:
    """An exchange's error kind: it failed (timeout, connection...), or HTTP answered 5xx."""
    if error:
        return str(error.get("kind") or "error")
    if kind == "http" and response and int(response.get("status") or 0) >= 500:
        return f"http_{response['status']}"
    return None


_WORDS = re.compile(r"[A-Za-z_]+")


def _step_error_kind(errors: Mapping[str, Any]) -> str:
    """A failed step's recorded kind; older recordings have only a message: its first words."""
    if errors.get("kind"):
        return str(errors["kind"])
    words = _WORDS.findall(str(errors.get("message") or ""))[:3]
    return " ".join(words).lower() or "error"


def _no_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _bucketer(seconds: int) -> Any:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def bucket(at: datetime) -> datetime:
        whole = int((at - epoch).total_seconds()) // seconds * seconds
        return epoch + timedelta(seconds=whole)

    return bucket


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
