"""Scheduled runbooks: which runbooks have a `schedule:`, and when they fire.

`rb schedules list` and `rb worker`'s deferrer (rb.worker.schedules) both
start here: `scan` finds the scheduled runbooks of a folder (a runbook whose
file has errors is reported, never scheduled), and the fire times are worked
out by croniter in the schedule's time zone, so daylight saving time moves a
`0 6 * * *` fire by an hour in UTC and keeps it at 06:00 local time.
No database is needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from rb.diagnostics import Diagnostic, Severity
from rb.loader import load_file
from rb.model import Runbook
from rb.policies import Schedule

if TYPE_CHECKING:
    from croniter import croniter

# A `skip` fire runs only if a worker defers it within this many seconds of
# its time; `latest` and `all` fires with no recorded defer before them too.
GRACE_SECONDS = 60
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Scheduled:
    """A runbook with a valid schedule, and its path relative to the runbooks folder."""

    path: str
    runbook: Runbook

    @property
    def schedule(self) -> Schedule:
        assert self.runbook.schedule is not None
        return self.runbook.schedule


@dataclass(frozen=True)
class Broken:
    """A file that holds (or may hold) a schedule but does not pass rb validate."""

    path: str
    diagnostics: tuple[Diagnostic, ...]
    problem: str = ""  # a problem across files (a runbook id scheduled twice)


@dataclass(frozen=True)
class Scan:
    scheduled: tuple[Scheduled, ...]
    broken: tuple[Broken, ...]


@dataclass(frozen=True)
class Upcoming:
    """A scheduled runbook with its next fire times (aware, in the schedule's zone)."""

    item: Scheduled
    fires: tuple[datetime, ...]


def zone(schedule: Schedule) -> tzinfo:
    """The schedule's time zone (rb validate has checked the name)."""
    import zoneinfo

    return zoneinfo.ZoneInfo(schedule.timezone)


def cron_iter(schedule: Schedule, start: float) -> croniter:
    """A croniter over the schedule's cron, in its time zone, starting at `start` (epoch)."""
    from croniter import croniter

    return croniter(schedule.cron, datetime.fromtimestamp(start, zone(schedule)))


def next_fires(schedule: Schedule, after: datetime, count: int) -> tuple[datetime, ...]:
    """The next `count` fire times strictly after `after`, aware in the schedule's zone."""
    it = cron_iter(schedule, after.timestamp())
    return tuple(it.get_next(datetime) for _ in range(count))


def fires_between(schedule: Schedule, start: float, end: float) -> list[int]:
    """Fire times (whole epoch seconds) in (start, end], oldest first."""
    out: list[int] = []
    it = cron_iter(schedule, start)
    for fire in _iterate(it):
        if fire > end:
            break
        out.append(fire)
    return out


def _iterate(it: croniter) -> Iterator[int]:
    while True:
        yield math.floor(it.get_next(float))


def scan(folder: Path) -> Scan:
    """The scheduled runbooks under `folder`, and the scheduled files that have errors.

    A file that does not load is reported only when it mentions a top-level
    `schedule:`; files without one are not this command's business.
    """
    from rb.plugins import step_types
    from rb.validate import validate_loaded

    scheduled: list[Scheduled] = []
    broken: list[Broken] = []
    seen: dict[str, str] = {}
    types = step_types()
    files = sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
    for file in files:
        relative = file.relative_to(folder).as_posix()
        loaded = load_file(file)
        if loaded.runbook is None:
            if _mentions_schedule(file):
                broken.append(Broken(relative, loaded.diagnostics))
            continue
        runbook = loaded.runbook
        if runbook.schedule is None:
            continue
        report = validate_loaded(loaded, types)
        errors = tuple(d for d in report.diagnostics if d.severity is Severity.ERROR)
        if errors:
            broken.append(Broken(relative, errors))
        elif runbook.id in seen:
            why = (
                f"runbook id {runbook.id!r} is scheduled by {seen[runbook.id]} too; "
                "schedules are keyed by runbook id: give each runbook its own id"
            )
            broken.append(Broken(relative, (), why))
        else:
            seen[runbook.id] = relative
            scheduled.append(Scheduled(relative, runbook))
    return Scan(tuple(scheduled), tuple(broken))


def upcoming(found: Scan, at: datetime, count: int) -> list[Upcoming]:
    """Each scheduled runbook's next `count` fires after `at`."""
    return [Upcoming(s, next_fires(s.schedule, at, count)) for s in found.scheduled]


def _mentions_schedule(file: Path) -> bool:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return any(line.startswith("schedule:") for line in text.splitlines())
