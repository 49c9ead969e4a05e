"""How, when and by whom a runbook and its steps run: the model's policies.

Retries, concurrency, schedules, notifications, access lists and
environments: frozen values the loader builds from the format (`*_of`
take data that has passed the format schema) for `rb.model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rb.source import DataPath

MISSED = ("skip", "latest", "all")  # what a schedule does about fires no worker deferred
NOTIFY_EVENTS = ("failure", "success", "approval_needed", "waiting_too_long")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Retry:
    """Retries with exponential backoff: delay = initial * multiplier**n, capped."""

    max_attempts: int = 1
    initial_delay_seconds: float = 1.0
    multiplier: float = 2.0
    max_delay_seconds: float = 60.0
    jitter: bool = True

    def delay(self, failed_attempts: int) -> float:
        """Delay before the next attempt after `failed_attempts` failures (no jitter)."""
        raw = self.initial_delay_seconds * self.multiplier ** max(failed_attempts - 1, 0)
        return float(min(raw, self.max_delay_seconds))


@dataclass(frozen=True)
class Concurrency:
    """`concurrency:`: at most `limit` runs at once per value of `key` (docs/triggers.md)."""

    key: str  # an expression over params only, e.g. "${params.cluster}"
    limit: int = 1
    when_busy: str = "queue"  # queue | reject


@dataclass(frozen=True)
class Schedule:
    """`schedule:`: run the runbook at the fire times of a cron expression (docs/scheduling.md)."""

    cron: str  # five fields, croniter syntax, read in `timezone`
    timezone: str = "UTC"  # an IANA name
    params: Mapping[str, Any] = field(default_factory=dict)
    missed: str = "skip"  # skip | latest | all
    catch_up: str = "1h"  # how far back latest/all look: 90s, 30m, 24h, 7d

    @property
    def catch_up_seconds(self) -> int | None:
        """`catch_up` in seconds (None when it is not a duration; rb validate reports it)."""
        return duration_seconds(self.catch_up)


# A notification is tried three times, 0.5 s then 1 s apart (docs/notifications.md).
NOTIFY_RETRY = Retry(max_attempts=3, initial_delay_seconds=0.5, multiplier=2.0, jitter=False)


@dataclass(frozen=True)
class Notify:
    """One `notify:` entry: on these events, send to these targets (docs/notifications.md)."""

    # of NOTIFY_EVENTS (the key is `events:`: YAML 1.1 reads a bare `on:` as true)
    events: tuple[str, ...]
    to: tuple[str, ...]  # apprise URLs as written; `${secrets.NAME}` resolved only when sent
    index: int
    waiting_too_long_seconds: float | None = None
    title: str | None = None  # instead of rb's own title
    retry: Retry = NOTIFY_RETRY

    @property
    def path(self) -> DataPath:
        return ("notify", self.index)


def duration_seconds(text: str) -> int | None:
    """`90s`, `30m`, `24h`, `7d` in seconds; None for anything else (and for zero)."""
    text = text.strip()
    unit = _DURATION_UNITS.get(text[-1:])
    number = text[:-1]
    if unit is None or not number.isascii() or not number.isdigit() or int(number) == 0:
        return None
    return int(number) * unit


@dataclass(frozen=True)
class Access:
    """`access:`: who may run and approve; None leaves an action to the roles alone."""

    run: tuple[str, ...] | None = None  # token names or groups
    approve: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Environment:
    """`environments.<name>`: what a live run with `--env <name>` must satisfy."""

    name: str
    require: str = "any"  # approved | any
    access: Access | None = None  # replaces the runbook's own access here


def retry_of(raw: Mapping[str, Any] | None, base: Retry) -> Retry:
    """`retry:` over `base` (the defaults'), key by key."""
    if not raw:
        return base
    return Retry(
        max_attempts=int(raw.get("max_attempts", base.max_attempts)),
        initial_delay_seconds=float(raw.get("initial_delay_seconds", base.initial_delay_seconds)),
        multiplier=float(raw.get("multiplier", base.multiplier)),
        max_delay_seconds=float(raw.get("max_delay_seconds", base.max_delay_seconds)),
        jitter=bool(raw.get("jitter", base.jitter)),
    )


def notify_of(index: int, raw: Mapping[str, Any]) -> Notify:
    """One `notify:` entry."""
    seconds = raw.get("waiting_too_long_seconds")
    return Notify(
        events=tuple(raw["events"]),
        to=tuple(raw["to"]),
        index=index,
        waiting_too_long_seconds=None if seconds is None else float(seconds),
        title=raw.get("title"),
        retry=retry_of(raw.get("retry"), NOTIFY_RETRY),
    )


def access_of(raw: Mapping[str, Any] | None) -> Access | None:
    """`access:` (None when absent)."""
    if raw is None:
        return None

    def names(key: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        return None if value is None else tuple(str(v) for v in value)

    return Access(run=names("run"), approve=names("approve"))


def schedule_of(raw: Mapping[str, Any] | None) -> Schedule | None:
    """`schedule:` (None when absent)."""
    if not raw:
        return None
    return Schedule(
        cron=str(raw["cron"]),
        timezone=str(raw.get("timezone", "UTC")),
        params=raw.get("params") or {},
        missed=str(raw.get("missed", "skip")),
        catch_up=str(raw.get("catch_up", "1h")),
    )


def concurrency_of(raw: Mapping[str, Any] | None) -> Concurrency | None:
    """`concurrency:` (None when absent)."""
    if not raw:
        return None
    return Concurrency(
        key=str(raw["key"]),
        limit=int(raw.get("limit", 1)),
        when_busy=str(raw.get("when_busy", "queue")),
    )


def environments_of(raw: Mapping[str, Any] | None) -> tuple[Environment, ...]:
    """`environments:` in the order written."""
    return tuple(
        Environment(name, str(e.get("require", "any")), access_of(e.get("access")))
        for name, e in (raw or {}).items()
    )
