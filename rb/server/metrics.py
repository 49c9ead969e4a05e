"""Prometheus metrics of the executions this server runs, for `GET /metrics`.

Durations are the run's own: under a fixture they are virtual seconds (what
the fixture's latencies add up to), so every series carries the world.

With several server processes (`rb serve --workers N`, rb.server.processes)
each keeps its values in files prometheus_client sums at scrape time; the
`process_*` series then describe the process that answered the scrape.
"""

from __future__ import annotations

import os
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
from prometheus_client.registry import Collector

from rb.engine.events import Event, Listener, RunFinished, RunStarted, StepFailed, StepSucceeded

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Steps range from milliseconds (a fixture exchange) to minutes (a wait).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """The server's own registry (not the process-wide default one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Read at scrape time, never summed over processes: the process's own
        # figures, and what add_collector adds (the queue's).
        self._read_now = CollectorRegistry()
        ProcessCollector(registry=self._read_now)
        # Several processes (rb.server.processes): their values are summed when read.
        self._shared = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
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
            multiprocess_mode="livesum",
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
        executions = self.registry
        if self._shared:
            from prometheus_client import multiprocess

            executions = CollectorRegistry()
            multiprocess.MultiProcessCollector(executions)  # type: ignore[no-untyped-call]
        return generate_latest(self._read_now) + generate_latest(executions)

    def add_collector(self, collector: Collector) -> None:
        """Another source of metrics, read at each scrape."""
        self._read_now.register(collector)


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
