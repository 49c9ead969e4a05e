"""The queue's metrics, read at scrape time: depth, wait times, load per worker.

With a PostgreSQL store, `rb serve`'s /metrics adds what procrastinate's
tables say now (docs/scaling.md, "Metrics"). Each scrape runs three queries
through the server's store; when they fail (the database is away, the queue
not created yet) the queue's metrics are left out of that scrape and the
reason logged, so the scrape itself still succeeds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rb.store.database import Store

log = logging.getLogger("rb.server")


class QueueCollector(Collector):
    """A prometheus collector reading rb.service.workers.stats on each collect."""

    def __init__(self, store_of: Callable[[], Store]) -> None:
        self._store_of = store_of  # the server's store, migrated on first contact
        self._failing: str | None = None  # the last failure logged (logged once, not per scrape)

    def collect(self) -> Iterator[Metric]:
        """The queue's metric families now; none when the store cannot say."""
        from rb.service.workers import stats

        try:
            now = stats(self._store_of())
        except Exception as exc:  # never a failed scrape: the other metrics still count
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if reason != self._failing:
                log.warning("queue metrics left out of /metrics: %s", reason)
                self._failing = reason
            return
        if self._failing is not None:
            log.info("queue metrics are back in /metrics")
            self._failing = None
        jobs = GaugeMetricFamily(
            "rb_queue_jobs",
            "Jobs on the queue now: waiting (due), scheduled (due later), running.",
            labels=["queue", "state"],
        )
        oldest = GaugeMetricFamily(
            "rb_queue_oldest_waiting_seconds",
            "How long the longest-waiting due job has waited (0: none waits).",
            labels=["queue"],
        )
        for depth in now.queues:
            jobs.add_metric([depth.queue, "waiting"], depth.waiting)
            jobs.add_metric([depth.queue, "scheduled"], depth.scheduled)
            jobs.add_metric([depth.queue, "running"], depth.running)
            oldest.add_metric([depth.queue], depth.oldest_waiting_seconds or 0.0)
        yield jobs
        yield oldest
        if now.waits_observed:
            wait = GaugeMetricFamily(
                "rb_queue_wait_seconds",
                "Time from queued (or due) to started, over jobs started in the last 5 minutes.",
                labels=["quantile"],
            )
            for quantile, value in (("0.5", now.wait_p50_seconds), ("0.95", now.wait_p95_seconds)):
                wait.add_metric([quantile], math.nan if value is None else value)
            yield wait
        running = GaugeMetricFamily(
            "rb_worker_running_jobs", "Jobs each live worker runs now.", labels=["worker"]
        )
        for worker, count in now.running_per_worker:
            running.add_metric([worker], count)
        yield running
        yield GaugeMetricFamily(
            "rb_workers_live", "Workers with a fresh heartbeat.", value=now.workers_live
        )
