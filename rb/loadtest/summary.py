"""k6's end-of-test summary (the `--summary-export` JSON), read and reported.

The export maps metric names to their figures. Trend metrics (durations, in
milliseconds) carry the stats asked for with --summary-trend-stats (`med` is
p50); rate metrics carry `value` (the share of true samples); counters carry
`count` and `rate` (per second). A metric with thresholds has
`thresholds: {expression: crossed}` (true means the threshold failed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rb.errors import RbError

_AGGREGATE = re.compile(r"\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|==|===|!=|<|>)")


class SummaryError(RbError):
    """k6 ended without a summary rb can read."""


@dataclass(frozen=True)
class ThresholdResult:
    """One threshold expression on one metric, and whether it held."""

    metric: str
    expression: str
    ok: bool
    observed: float | None  # the figure the expression tests, when the summary has it
    unit: str  # "ms", "%" or ""

    def observed_text(self) -> str:
        """The observed figure with its unit, e.g. `45.6 ms` or `0.00 %`."""
        return _fmt(self.observed, self.unit)


@dataclass(frozen=True)
class LoadSummary:
    """The figures of one k6 run that rb reports."""

    requests: int
    request_rate: float  # per second
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    avg_ms: float | None
    max_ms: float | None
    http_error_rate: float | None  # http_req_failed: transport errors and 4xx/5xx
    failed_execution_rate: float | None  # rb_execution_failed: also 200s that did not succeed
    checks_passed: int
    checks_failed: int
    thresholds: tuple[ThresholdResult, ...]

    @property
    def crossed(self) -> tuple[ThresholdResult, ...]:
        """The thresholds that failed."""
        return tuple(t for t in self.thresholds if not t.ok)

    @property
    def passed(self) -> bool:
        return not self.crossed


def load_summary(path: Path) -> LoadSummary:
    """Read k6's summary export at `path`; a missing or broken file is a SummaryError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SummaryError(f"k6 wrote no summary to {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SummaryError(f"k6's summary {path} is not JSON: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("metrics"), Mapping):
        raise SummaryError(f"k6's summary {path} has no metrics")
    return parse_summary(data)


def parse_summary(data: Mapping[str, Any]) -> LoadSummary:
    """The figures rb reports, from a parsed summary export."""
    metrics: Mapping[str, Mapping[str, Any]] = data.get("metrics", {})
    duration = metrics.get("http_req_duration", {})
    reqs = metrics.get("http_reqs", {})
    checks = metrics.get("checks", {})
    thresholds = []
    for name, metric in metrics.items():
        for expression, crossed in (metric.get("thresholds") or {}).items():
            observed, unit = _observed(name, metric, expression)
            thresholds.append(ThresholdResult(name, expression, not crossed, observed, unit))
    return LoadSummary(
        requests=int(reqs.get("count", 0)),
        request_rate=float(reqs.get("rate", 0.0)),
        p50_ms=_float(duration.get("med")),
        p95_ms=_float(duration.get("p(95)")),
        p99_ms=_float(duration.get("p(99)")),
        avg_ms=_float(duration.get("avg")),
        max_ms=_float(duration.get("max")),
        http_error_rate=_float(metrics.get("http_req_failed", {}).get("value")),
        failed_execution_rate=_float(metrics.get("rb_execution_failed", {}).get("value")),
        checks_passed=int(checks.get("passes", 0)),
        checks_failed=int(checks.get("fails", 0)),
        # k6 lists them in no fixed order; sorted, reports compare across runs.
        thresholds=tuple(sorted(thresholds, key=lambda t: (t.metric, t.expression))),
    )


def _observed(name: str, metric: Mapping[str, Any], expression: str) -> tuple[float | None, str]:
    match = _AGGREGATE.match(expression)
    aggregate = match[1] if match else ""
    is_rate = "passes" in metric and "value" in metric
    if is_rate:
        # A rate metric has one figure: `rate` in its thresholds is its `value`.
        return _float(metric.get("value")), "%"
    key = {"p(50)": "med"}.get(aggregate, aggregate)
    timed = name.split("{")[0] in ("iteration_duration",) or name.startswith("http_req_")
    unit = "ms" if timed and "count" not in metric else ""
    if key == "rate" and "rate" in metric:
        return _float(metric.get("rate")), "/s"
    return _float(metric.get(key)), unit


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "/s":
        return f"{value:.1f}/s"
    return f"{value:g}"


def text_lines(summary: LoadSummary) -> list[str]:
    """The report a person reads: figures, then each threshold with ✓ or ✗, then the verdict."""
    lines = [
        f"requests      {summary.requests} ({summary.request_rate:.1f}/s)",
        f"latency       p50 {_fmt(summary.p50_ms, 'ms')}   p95 {_fmt(summary.p95_ms, 'ms')}"
        f"   p99 {_fmt(summary.p99_ms, 'ms')}   max {_fmt(summary.max_ms, 'ms')}",
        f"HTTP errors   {_fmt(summary.http_error_rate, '%')}",
    ]
    if summary.failed_execution_rate is not None:
        lines.append(f"failed runs   {_fmt(summary.failed_execution_rate, '%')}")
    if summary.checks_passed or summary.checks_failed:
        total = summary.checks_passed + summary.checks_failed
        lines.append(f"checks        {summary.checks_passed} of {total} passed")
    if summary.thresholds:
        lines.append("thresholds")
        width = max(len(f"{t.metric} {t.expression}") for t in summary.thresholds)
        for t in summary.thresholds:
            mark = "✓" if t.ok else "✗"
            label = f"{t.metric} {t.expression}"
            lines.append(f"  {mark} {label:<{width}}   observed {t.observed_text()}")
    crossed = summary.crossed
    if crossed:
        names = ", ".join(
            f"{t.metric} {t.expression} (observed {t.observed_text()})" for t in crossed
        )
        lines.append(
            f"FAIL: {len(crossed)} of {len(summary.thresholds)} thresholds crossed: {names}"
        )
    else:
        lines.append(
            f"PASS: all {len(summary.thresholds)} thresholds held"
            if summary.thresholds
            else "PASS: the script sets no thresholds"
        )
    return lines


def as_json(summary: LoadSummary) -> dict[str, Any]:
    """The summary as a JSON document (`rb loadtest run --format json`)."""
    return {
        "passed": summary.passed,
        "requests": summary.requests,
        "request_rate": summary.request_rate,
        "latency_ms": {
            "p50": summary.p50_ms,
            "p95": summary.p95_ms,
            "p99": summary.p99_ms,
            "avg": summary.avg_ms,
            "max": summary.max_ms,
        },
        "http_error_rate": summary.http_error_rate,
        "failed_execution_rate": summary.failed_execution_rate,
        "checks": {"passed": summary.checks_passed, "failed": summary.checks_failed},
        "thresholds": [
            {
                "metric": t.metric,
                "expression": t.expression,
                "ok": t.ok,
                "observed": t.observed,
                "unit": t.unit,
            }
            for t in summary.thresholds
        ],
    }
