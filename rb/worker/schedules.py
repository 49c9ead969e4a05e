"""The schedule deferrer: scheduled runbooks become procrastinate periodic jobs.

Built on procrastinate's periodic machinery (`procrastinate.periodic`): each
scheduled runbook is a `PeriodicTask` of the task `rb.scheduled`, with
periodic_id = the runbook's id and task_kwargs {"runbook": its path relative
to the runbooks folder} (procrastinate adds "timestamp", the fire time).
What rb adds:

- the cron expression is read in the schedule's time zone (`ZonedPeriodicTask`);
- each schedule's `missed:` policy decides which fires are still due
  (`ScheduleDeferrer.get_timestamps`): `skip` only a fire within
  GRACE_SECONDS; `latest` the newest fire since the last recorded defer,
  within catch_up; `all` every such fire, oldest first;
- the last recorded defer is read from procrastinate_periodic_defers, so a
  worker that starts after downtime knows what was missed;
- `reload(registry)` swaps in the schedules of a re-read runbooks folder
  (the worker calls it on SIGHUP).

Exactly once: any number of workers run a deferrer; procrastinate's
`procrastinate_periodic_defers` unique constraint (task, periodic_id,
timestamp) lets one of them defer each fire and turns the others away.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attr
from procrastinate import PsycopgConnector, periodic

from rb.model import Runbook
from rb.policies import Schedule
from rb.service.queue_app import DEFAULT_QUEUE, SCHEDULED_TASK
from rb.service.schedules import GRACE_SECONDS, cron_iter, fires_between

if TYPE_CHECKING:
    import croniter
    import procrastinate
    from procrastinate.tasks import Task

logger = logging.getLogger(__name__)

_LAST_DEFERS = """
SELECT periodic_id, max(defer_timestamp) AS last
  FROM procrastinate_periodic_defers
 WHERE task_name = %(task_name)s
 GROUP BY periodic_id
"""
# A schedule's deferrals are serialized by this advisory lock (space, hash of the id).
_LOCK_SPACE = 0x72625F73  # "rb_s"
_LOCK = """
SELECT pg_advisory_xact_lock(%(space)s, hashtext(%(task_name)s || '/' || %(periodic_id)s)) AS ok
"""
_LAST_DEFER = """
SELECT max(defer_timestamp) AS last
  FROM procrastinate_periodic_defers
 WHERE task_name = %(task_name)s AND periodic_id = %(periodic_id)s
"""


@attr.dataclass(frozen=True)
class ZonedPeriodicTask(periodic.PeriodicTask[Any, Any, Any]):
    """A periodic task whose cron is read in its schedule's time zone."""

    schedule: Schedule

    @functools.cached_property
    def croniter(self) -> croniter.croniter:
        # An aware start makes croniter read the fields as local time there,
        # daylight saving time included; procrastinate's is always UTC.
        return cron_iter(self.schedule, time.time())


def scheduled_task(app: procrastinate.App) -> Task[Any, Any, Any]:
    """The app's `rb.scheduled` task; a placeholder that refuses to run if none is registered.

    `rb worker` registers the real task before building the registry (or
    passes it to `schedule_registry`); the placeholder lets a process defer
    scheduled jobs without being able to run them.
    """
    task = app.tasks.get(SCHEDULED_TASK)
    if task is not None:
        return task

    def not_registered(context: Any, /, **kwargs: Any) -> None:
        raise RuntimeError(
            f"{SCHEDULED_TASK} ran on a worker that did not register it; run it with rb worker"
        )

    placeholder: Task[Any, Any, Any] = app.task(
        name=SCHEDULED_TASK, queue=DEFAULT_QUEUE, pass_context=True
    )(not_registered)
    return placeholder


def schedule_registry(
    app: procrastinate.App,
    schedules: Sequence[tuple[str, Runbook]],
    *,
    task: Task[Any, Any, Any] | None = None,
) -> periodic.PeriodicRegistry:
    """A periodic registry with one task per scheduled runbook.

    `schedules` are (path relative to the runbooks folder, runbook) pairs of
    runbooks that passed rb validate (rb.service.schedules.scan); `task` is
    the `rb.scheduled` task to defer (default: the app's, or a placeholder).
    """
    task = task or scheduled_task(app)
    registry = periodic.PeriodicRegistry()  # type: ignore[no-untyped-call]
    for path, runbook in schedules:
        schedule = runbook.schedule
        if schedule is None:
            continue
        plain: periodic.PeriodicTask[Any, Any, Any] = registry.register_task(
            task=task,
            cron=schedule.cron,
            periodic_id=runbook.id,
            configure_kwargs={"task_kwargs": {"runbook": path}},
        )
        # register_task checks for a duplicate id and logs; the zoned task replaces its entry.
        registry.periodic_tasks[(task.name, runbook.id)] = ZonedPeriodicTask(
            task=plain.task,
            cron=plain.cron,
            periodic_id=plain.periodic_id,
            configure_kwargs=plain.configure_kwargs,
            schedule=schedule,
        )
    return registry


class ScheduleDeferrer(periodic.PeriodicDeferrer):
    """procrastinate's periodic deferrer with rb's missed-fire policies and reloads.

    `tick(at)` defers what is due at `at` (tests drive it at chosen times);
    `run()` ticks at each next fire until cancelled, and starts over with a
    new registry when `reload(registry)` is called.
    """

    def __init__(self, app: procrastinate.App, registry: periodic.PeriodicRegistry) -> None:
        super().__init__(registry=registry, max_delay=GRACE_SECONDS)
        self.app = app
        self._recorded: dict[str, int] = {}  # periodic_id -> last defer_timestamp in the db
        self._reloaded = asyncio.Event()

    def reload(self, registry: periodic.PeriodicRegistry) -> None:
        """Use `registry` from the next tick on (call it in the event loop's thread).

        Fires this deferrer already deferred are remembered by runbook id, so
        a reload does not defer them again; a new cron starts from its next fire.
        """
        self.registry = registry
        self._reloaded.set()

    async def tick(self, at: float) -> None:
        """Defer every fire that is due at `at` (epoch seconds) under its missed policy."""
        await self.read_recorded()
        await self.defer_jobs(jobs_to_defer=list(self.get_previous_tasks(at=at)))

    async def read_recorded(self) -> None:
        """Read each schedule's last deferred fire from procrastinate_periodic_defers."""
        rows = await self.app.connector.execute_query_all_async(
            _LAST_DEFERS, task_name=SCHEDULED_TASK
        )
        self._recorded = {r["periodic_id"]: int(r["last"]) for r in rows if r["last"] is not None}

    async def run(self) -> None:
        """Tick at each next fire time, forever; `reload` wakes it to use a new registry."""
        while True:
            self._reloaded.clear()
            now = time.time()
            if self.registry.periodic_tasks:
                await self.tick(now)
                timeout: float | None = self.get_next_tick(at=now) + periodic.MARGIN
            else:
                timeout = None  # nothing scheduled: sleep until a reload brings something
            with contextlib.suppress(TimeoutError):  # the next fire is due
                await asyncio.wait_for(self._reloaded.wait(), timeout)

    def get_timestamps(
        self, periodic_task: periodic.PeriodicTask[Any, Any, Any], since: int | None, until: float
    ) -> Iterable[int]:
        """The fires of `periodic_task` to defer at `until`, per its schedule's missed policy."""
        if not isinstance(periodic_task, ZonedPeriodicTask):
            return super().get_timestamps(periodic_task, since, until)
        schedule = periodic_task.schedule
        known = max(since or 0, self._recorded.get(periodic_task.periodic_id, 0))
        # Without a recorded defer nothing was missed (the schedule is new):
        # only a fire within the grace runs, whatever the policy.
        look_back = GRACE_SECONDS
        if schedule.missed != "skip" and known:
            look_back = max(schedule.catch_up_seconds or 0, GRACE_SECONDS)
        fires = fires_between(schedule, max(known, until - look_back), until)
        if fires and len(fires) > 1 and schedule.missed != "all":
            skipped = len(fires) - 1
            logger.info(
                f"Schedule of {periodic_task.periodic_id!r}: {skipped} missed fire(s) "
                f"not run (missed: {schedule.missed})",
                extra={"action": "schedule_missed_fires", "periodic_id": periodic_task.periodic_id},
            )
            fires = fires[-1:]
        return fires

    async def defer_jobs(
        self, jobs_to_defer: Iterable[tuple[periodic.PeriodicTask[Any, Any, Any], int]]
    ) -> None:
        """Defer each fire unless the same or a later one of its schedule is recorded.

        procrastinate deletes older defer records when it defers a newer fire,
        so its unique key alone cannot stop a worker catching up on a fire that
        another worker has since passed: this check can. It runs, with the
        defer, under a per-schedule lock, so that two workers cannot both pass
        it before either has deferred.
        """
        for periodic_task, timestamp in jobs_to_defer:
            async with self._schedule_lock(periodic_task) as last:
                if last is not None and last >= timestamp:
                    continue
                await super().defer_jobs([(periodic_task, timestamp)])

    @contextlib.asynccontextmanager
    async def _schedule_lock(
        self, periodic_task: periodic.PeriodicTask[Any, Any, Any]
    ) -> AsyncIterator[int | None]:
        """Hold the schedule's advisory lock; yield its last recorded fire, read under it.

        The lock is a transaction's, on a connection of its own: the defer
        (on another connection) commits before the lock is let go, so the next
        holder's read sees it.
        """
        connector = self.app.connector
        assert isinstance(connector, PsycopgConnector), "rb's queue uses PsycopgConnector"
        names = {"task_name": periodic_task.task.name, "periodic_id": periodic_task.periodic_id}
        async with connector.pool.connection() as conn, conn.transaction():
            await connector.execute_query_one_async_with_connection(
                conn, _LOCK, space=_LOCK_SPACE, **names
            )
            row = await connector.execute_query_one_async_with_connection(
                conn, _LAST_DEFER, **names
            )
            yield None if row["last"] is None else int(row["last"])
