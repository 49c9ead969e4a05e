"""Stored runs: listing, reading one, exporting it as a fixture, migrating the store.

Every reader reaps first: a run left `running` by a process that died is
marked `interrupted` before anyone is shown it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rb.errors import UsageError
from rb.store.records import Execution

if TYPE_CHECKING:
    from rb.store.notifications import NotificationRow

DEFAULT_LIMIT = 20
_AGO = re.compile(r"(\d+)([smhd])\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> datetime:
    """`2h`, `3d`, `30m` ago, or an ISO 8601 time."""
    match = _AGO.match(text.strip())
    if match:
        return datetime.now(UTC) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since takes 30m, 2h, 7d or an ISO time, not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RunList:
    """Runs newest recorded first (real time, not a fixture's clock), without their steps."""

    runs: tuple[Execution, ...]
    more: bool  # more runs match than were asked for
    store: str  # the store, as shown to people (no password)


def list_recorded(
    *,
    db: str | None,
    runbook: str | None = None,
    status: str | None = None,
    since: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> RunList:
    """At most `limit` recorded runs matching the filters."""
    from rb.store.database import open_store
    from rb.store.queries import list_runs, reap_interrupted

    store = open_store(db)
    reap_interrupted(store)
    found = list_runs(
        store,
        runbook=runbook,
        status=status,
        since=parse_since(since) if since else None,
        limit=limit + 1,  # one more, to say whether more exist
    )
    return RunList(tuple(found[:limit]), len(found) > limit, store.shown)


def recorded(ref: str, *, db: str | None, reap: bool = True) -> Execution:
    """One run with its step logs and exchanges: an id, a unique prefix, or `last`."""
    from rb.store.database import open_store
    from rb.store.queries import load_run, reap_interrupted

    store = open_store(db)
    if reap:
        reap_interrupted(store)
    return load_run(store, ref)


def notifications_of(execution_id: str, *, db: str | None) -> list[NotificationRow]:
    """The notifications a recorded run sent (or, under a fixture, recorded), oldest first."""
    from rb.store.database import open_store
    from rb.store.notifications import of_execution

    return of_execution(open_store(db), execution_id)


def export_fixture(ref: str, fixture: str, *, db: str | None) -> tuple[Path, Execution]:
    """Write a recording as a fixture file (YAML, or JSON for a .json name)."""
    from rb.store.export import fixture_from_run

    run = recorded(ref, db=db, reap=False)
    data = fixture_from_run(run)
    path = Path(fixture)
    if path.suffix == ".json":
        text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, run


@dataclass(frozen=True)
class Upgraded:
    """A migration: the store as shown, and its revision before and after."""

    store: str
    before: str | None
    after: str
    queue_created: bool = False  # procrastinate's schema was created (PostgreSQL)


def upgrade_store(*, db: str | None) -> Upgraded:
    """Migrate the store to the newest schema."""
    from rb.service.queue_app import apply_schema
    from rb.store.database import open_store

    store = open_store(db, migrate=False)
    before = store.revision()
    after = store.upgrade()
    # With PostgreSQL, the queue `rb worker` serves lives beside rb's tables.
    queue = apply_schema(store)
    return Upgraded(store.shown, before, after, queue_created=queue)
