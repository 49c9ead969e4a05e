"""`rb runs stats`: the service side (open the store, read the options, aggregate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rb.errors import RbError, UsageError
from rb.policies import duration_seconds
from rb.service.runs import parse_since

if TYPE_CHECKING:
    from rb.store.stats import RunbookStats

DEFAULT_SINCE = "30d"


class UnknownRunbook(RbError):
    """No run of the runbook is recorded at all (exit 1): a typo, or the wrong store."""


@dataclass(frozen=True)
class Stats:
    """The numbers, and the store they were read from (as shown to people)."""

    stats: RunbookStats
    store: str


def parse_bucket(text: str) -> int:
    """`1d`, `1h`, `6h`... as seconds: the width of the error buckets."""
    hours_or_days = text.strip()[-1:] in ("h", "d")
    seconds = duration_seconds(text) if hours_or_days else None
    if seconds is None:
        raise UsageError(f"--bucket takes a number of hours or days (1h, 6h, 1d), not {text!r}")
    return seconds


def runbook_stats(
    runbook_id: str,
    *,
    db: str | None,
    since: str = DEFAULT_SINCE,
    world: str = "live",
    bucket: str = "1d",
) -> Stats:
    """Success rate, durations, per-step and per-endpoint numbers of a runbook's recorded runs."""
    from rb.store.database import open_store
    from rb.store.queries import reap_interrupted
    from rb.store.stats import WORLDS, has_runs
    from rb.store.stats import runbook_stats as aggregate

    if world not in WORLDS:
        raise UsageError(f"--world takes {', '.join(WORLDS)}, not {world!r}")
    after, width = parse_since(since), parse_bucket(bucket)
    store = open_store(db)
    reap_interrupted(store)  # a dead process's run counts as interrupted, not running
    if not has_runs(store, runbook_id):
        raise UnknownRunbook(
            f"no runs of runbook {runbook_id!r} recorded in {store.shown}: "
            "give the runbook's id as rb runs list shows it, or --db for another store"
        )
    found = aggregate(store, runbook_id, since=after, world=world, bucket_seconds=width)
    return Stats(found, store.shown)
