"""Published runbook definitions: versions per runbook, draft -> approved -> deprecated.

A version is the exact text of a runbook file, named by its SHA-256
(`Runbook.definition_hash`, the hash executions record). Publishing text
already published returns that version. Versions are numbered 1, 2, ... per
runbook: two publishers racing for one number collide on the unique
(runbook_id, version) and the loser takes the next. A state change names the
state it leaves in its UPDATE's WHERE, so of two approvers racing only one
changes the row; the other is told what the row says now.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rb.store.database import Store, StoreError, is_integrity_error
from rb.store.records import aware, utc_iso

STATES = ("draft", "approved", "deprecated")
# Which states a state change may leave.
LEAVES = {"approved": ("draft",), "deprecated": ("draft", "approved")}
_TRIES = 50  # publishers racing for one version number


@dataclass(frozen=True)
class Definition:
    """One published version of a runbook and where it is in its lifecycle."""

    runbook_id: str
    version: int
    content_hash: str
    content: str
    path: str
    author: str
    published_at: datetime
    state: str  # draft | approved | deprecated
    approved_by: str | None = None
    approved_at: datetime | None = None
    deprecated_by: str | None = None
    deprecated_at: datetime | None = None

    @property
    def ref(self) -> str:
        """`<runbook id>@<version>`, as commands take it."""
        return f"{self.runbook_id}@{self.version}"

    def to_json(self, *, content: bool = False) -> dict[str, Any]:
        """The version as the API and `--format json` show it (its text only when asked)."""
        document: dict[str, Any] = {
            "runbook_id": self.runbook_id,
            "version": self.version,
            "content_hash": self.content_hash,
            "path": self.path,
            "author": self.author,
            "published_at": utc_iso(self.published_at),
            "state": self.state,
            "approved_by": self.approved_by,
            "approved_at": utc_iso(self.approved_at),
            "deprecated_by": self.deprecated_by,
            "deprecated_at": utc_iso(self.deprecated_at),
        }
        if content:
            document["content"] = self.content
        return document


def publish(
    store: Store, runbook_id: str, content: str, content_hash: str, *, path: str, author: str
) -> tuple[Definition, bool]:
    """Store `content` as the runbook's next version, a draft; True when new.

    Content already published (any state) returns that version, False.
    """
    import sqlalchemy

    from rb.store.tables import definitions as table

    same = table.select().where(
        table.c.runbook_id == runbook_id, table.c.content_hash == content_hash
    )
    newest = sqlalchemy.select(sqlalchemy.func.max(table.c.version)).where(
        table.c.runbook_id == runbook_id
    )
    for _ in range(_TRIES):
        try:
            with store.begin() as conn:
                found = conn.execute(same.order_by(table.c.version).limit(1)).first()
                if found is not None:
                    return _definition(found), False
                version = int(conn.execute(newest).scalar() or 0) + 1
                made = Definition(
                    runbook_id=runbook_id,
                    version=version,
                    content_hash=content_hash,
                    content=content,
                    path=path,
                    author=author,
                    published_at=datetime.now(UTC),
                    state="draft",
                )
                conn.execute(table.insert().values(**dataclasses.asdict(made)))
            return made, True
        except StoreError as exc:
            if not is_integrity_error(exc):
                raise
    raise StoreError(f"could not publish {runbook_id} in {store.shown}: too many publishers")


def change_state(
    store: Store, runbook_id: str, version: int, state: str, *, actor: str
) -> tuple[bool, Definition | None]:
    """Move a version to `state` (approved | deprecated) if it is in a state that may
    leave for it: whether this call changed it, and the version as stored now
    (None when there is no such version).

    Not changed: the version was not in a state that may change (or another
    actor got there first). Nobody approves a version they published.
    """
    from rb.store.tables import definitions as table

    now = datetime.now(UTC)
    who = {f"{state}_by": actor, f"{state}_at": now}
    where = [
        table.c.runbook_id == runbook_id,
        table.c.version == version,
        table.c.state.in_(LEAVES[state]),
    ]
    if state == "approved":
        where.append(table.c.author != actor)  # two people, in the database's word too
    with store.begin() as conn:
        changed = conn.execute(table.update().where(*where).values(state=state, **who)).rowcount
    return changed == 1, get(store, runbook_id, version)


def get(store: Store, runbook_id: str, version: int) -> Definition | None:
    """One version (None when it was never published)."""
    from rb.store.tables import definitions as table

    query = table.select().where(table.c.runbook_id == runbook_id, table.c.version == version)
    with store.begin() as conn:
        row = conn.execute(query).first()
    return None if row is None else _definition(row)


def versions(store: Store, runbook_id: str | None = None) -> list[Definition]:
    """Every version (of one runbook, or of all), by runbook id then version."""
    from rb.store.tables import definitions as table

    query = table.select().order_by(table.c.runbook_id, table.c.version)
    if runbook_id is not None:
        query = query.where(table.c.runbook_id == runbook_id)
    with store.begin() as conn:
        return [_definition(row) for row in conn.execute(query)]


def with_hash(store: Store, runbook_id: str, content_hash: str) -> Definition | None:
    """The version of `runbook_id` whose text has this hash (None: never published)."""
    from rb.store.tables import definitions as table

    query = (
        table.select()
        .where(table.c.runbook_id == runbook_id, table.c.content_hash == content_hash)
        .order_by(table.c.version)
        .limit(1)
    )
    with store.begin() as conn:
        row = conn.execute(query).first()
    return None if row is None else _definition(row)


def newest_approved(store: Store, runbook_id: str) -> Definition | None:
    """The approved version with the highest number (None: none is approved)."""
    from rb.store.tables import definitions as table

    query = (
        table.select()
        .where(table.c.runbook_id == runbook_id, table.c.state == "approved")
        .order_by(table.c.version.desc())
        .limit(1)
    )
    with store.begin() as conn:
        row = conn.execute(query).first()
    return None if row is None else _definition(row)


def next_version(store: Store, runbook_id: str) -> int:
    """The number the runbook's next published version would get."""
    import sqlalchemy

    from rb.store.tables import definitions as table

    query = sqlalchemy.select(sqlalchemy.func.max(table.c.version)).where(
        table.c.runbook_id == runbook_id
    )
    with store.begin() as conn:
        return int(conn.execute(query).scalar() or 0) + 1


def _definition(row: Any) -> Definition:
    return Definition(
        runbook_id=row.runbook_id,
        version=int(row.version),
        content_hash=row.content_hash,
        content=row.content,
        path=row.path,
        author=row.author,
        published_at=aware(row.published_at),
        state=row.state,
        approved_by=row.approved_by,
        approved_at=aware(row.approved_at),
        deprecated_by=row.deprecated_by,
        deprecated_at=aware(row.deprecated_at),
    )
