"""Prometheus metrics of the executions this server runs, for `GET /metrics`.

Durations are the run's own: under a fixture they are virtual seconds (what
the fixture's latencies add up to), so every series carries the world.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from rb.engine.events import Event, Listener, RunFinished, RunStarted, StepFailed, StepSucceeded

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Steps range from milliseconds (a fixture exchange) to minutes (a wait).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """The server's own registry (not the process-wide default one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.executions = Counter(
            "rb_executions",
            "Executions this server finished, by runbook, world and status.",
            ["runbook", "world", "status"],
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "rb_executions_in_progress",
            "Executions running or waiting for a worker now.",
            registry=self.registry,
        )
        self.execution_seconds = Histogram(
            "rb_execution_duration_seconds",
            "Duration of finished executions, by runbook and world.",
            ["runbook", "world"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.step_seconds = Histogram(
            "rb_step_duration_seconds",
            "Duration of finished steps (all attempts), by runbook, step and status.",
            ["runbook", "world", "step", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    @contextmanager
    def tracking(self) -> Iterator[Listener]:
        """Count an execution in progress; yields a run listener for its events."""
        self.in_progress.inc()
        try:
            yield _RunMetrics(self)
        finally:
            self.in_progress.dec()

    def exposition(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


class _RunMetrics:
    """Observes one run's events (on its recorder's threads)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._runbook = ""
        self._world = ""

    def __call__(self, event: Event) -> None:
        m = self._metrics
        if isinstance(event, RunStarted):
            self._runbook, self._world = event.runbook_id, event.world
        elif isinstance(event, StepSucceeded | StepFailed):
            status = "succeeded" if isinstance(event, StepSucceeded) else "failed"
            m.step_seconds.labels(self._runbook, self._world, event.step_id, status).observe(
                event.duration_seconds
            )
        elif isinstance(event, RunFinished):
            m.executions.labels(self._runbook, self._world, event.status).inc()
            m.execution_seconds.labels(self._runbook, self._world).observe(event.duration_seconds)
