"""Checking the audit trail: every record's hash, every link, no gap in the numbers.

`verify` recomputes each record's hash from its stored fields in sequence
order, checks that it names its predecessor's hash and that the numbers run
1, 2, 3... An edited field, a forged, deleted, renumbered or reordered
record breaks the chain at the first record that no longer fits, and that
record is named.

What the chain cannot show from inside is a cut at its end: the last
records deleted leave a shorter chain that is still whole. An anchor (the
head hash and count of an earlier `rb audit verify`, kept somewhere the
database's writers cannot reach) proves the chain still reaches that head.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rb.store.audit import GENESIS, AuditEntry, AuditRecord, record_hash
from rb.store.database import Store
from rb.store.records import aware


@dataclass(frozen=True)
class Anchor:
    """A head seen before: its hash, and (optionally) how many records led to it."""

    head: str | None = None  # a record's hash, hex
    count: int | None = None  # the chain had at least this many records


@dataclass(frozen=True)
class Verification:
    """What `verify` found: whole or not, how far, and why not in words."""

    ok: bool
    count: int  # records read
    head: str  # the last record's hash (GENESIS when the trail is empty)
    head_seq: int  # the last record's number (0 when empty)
    broken_seq: int | None  # the first record that does not fit, when not ok
    reason: str  # for people: what holds, or what is wrong where
    anchored: bool = False  # an anchor was given, and the chain reaches it

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON (`rb audit verify --format json`): a head to keep elsewhere."""
        return {
            "ok": self.ok,
            "count": self.count,
            "head": self.head,
            "head_seq": self.head_seq,
            "broken_seq": self.broken_seq,
            "reason": self.reason,
            "anchored": self.anchored,
        }


@dataclass(frozen=True)
class _Row:
    """A stored row, read without trusting it: `record` is None when it cannot be decoded."""

    seq: int
    record: AuditRecord | None
    problem: str = ""


def verify(store: Store, *, head: str | None = None, count: int | None = None) -> Verification:
    """Check the whole audit trail of `store`; with `head` and/or `count` (an anchor
    from an earlier verify), also that the chain still reaches that head."""
    anchor = Anchor(head and head.lower(), count) if head or count is not None else None
    return _verify(store, anchor)


def _verify(store: Store, anchor: Anchor | None) -> Verification:
    expected, prev, head, count = 1, GENESIS, GENESIS, 0
    anchor_seen = False
    # Closed when the check stops early: the server-side cursor goes with it.
    with contextlib.closing(_rows(store)) as rows:
        for row in rows:
            broken = _first_problem(row, expected, prev)
            if broken is not None:
                return Verification(False, count, head, expected - 1, *broken)
            assert row.record is not None
            count += 1
            expected, prev = row.seq + 1, row.record.hash
            head = prev
            if anchor is not None and anchor.head == head:
                if anchor.count is not None and anchor.count != row.seq:
                    return Verification(
                        False,
                        count,
                        head,
                        row.seq,
                        row.seq,
                        f"the anchor's head {_short(head)} is record {row.seq}, "
                        f"not record {anchor.count} as the anchor says",
                    )
                anchor_seen = True
    last = expected - 1
    if anchor is not None:
        missing = _anchor_missing(anchor, anchor_seen, last, head)
        if missing is not None:
            return Verification(False, count, head, last, last + 1, missing)
        return Verification(
            True,
            count,
            head,
            last,
            None,
            f"chain intact: {_records(count)}, head {head} (seq {last}); "
            f"it still reaches the anchor{_anchor_text(anchor)}",
            anchored=True,
        )
    if count == 0:
        reason = "the audit trail is empty (a deleted trail looks the same: keep an anchor)"
    else:
        reason = (
            f"chain intact up to seq {last}, head {head}; truncation after {_short(head)} "
            "cannot be detected without an anchor (--head HASH --count N from an earlier "
            "verify)"
        )
    return Verification(True, count, head, last, None, reason)


def _first_problem(row: _Row, expected: int, prev: str) -> tuple[int, str] | None:
    """(the record's number, what is wrong with it) when `row` does not continue the chain."""
    if row.seq != expected:
        if row.seq < expected:  # only before 1: the numbers are a primary key
            return row.seq, f"record {row.seq} is numbered before 1 (a chain starts at 1)"
        if expected == 1:
            return 1, f"record 1 is missing (the chain starts at {row.seq})"
        return expected, f"record {expected} is missing ({expected - 1} is followed by {row.seq})"
    if row.record is None:
        return row.seq, f"record {row.seq} cannot be read ({row.problem}): it was edited"
    rec = row.record
    if record_hash(rec.seq, rec.at, rec.entry, rec.prev_hash) != rec.hash:
        made_for = _hashed_as(rec)
        if made_for is not None:
            return rec.seq, (
                f"record {rec.seq} was renumbered (its hash was made for record {made_for}: "
                "records were moved, deleted or inserted before it)"
            )
        return rec.seq, f"record {rec.seq} was edited (its hash does not match its contents)"
    if rec.prev_hash != prev:
        before = f"record {rec.seq - 1}" if rec.seq > 1 else "the chain's start"
        return rec.seq, f"record {rec.seq}'s prev_hash does not match {before}"
    return None


def _hashed_as(rec: AuditRecord, reach: int = 3) -> int | None:
    """The number a moved record's hash was made for, when it is near its new one."""
    for seq in range(max(1, rec.seq - reach), rec.seq + reach + 1):
        if seq != rec.seq and record_hash(seq, rec.at, rec.entry, rec.prev_hash) == rec.hash:
            return seq
    return None


def _anchor_missing(anchor: Anchor, seen: bool, last: int, head: str) -> str | None:
    """Why a whole chain does not reach `anchor` (None when it does)."""
    if anchor.count is not None and last < anchor.count:
        after = f"record {last}" if last else "the start"
        return (
            f"records after {after} were deleted: the chain has {_records(last)}, "
            f"the anchor{_anchor_text(anchor)} says at least {anchor.count}"
        )
    if anchor.head is not None and not seen:
        return (
            f"the anchor's head {_short(anchor.head)} is not in the chain (its head is "
            f"{_short(head)}, seq {last}): records were deleted from its end, or the whole "
            "chain was rewritten"
        )
    return None


def _anchor_text(anchor: Anchor) -> str:
    parts = [f"head {_short(anchor.head)}" if anchor.head else "", _count_text(anchor.count)]
    shown = ", ".join(p for p in parts if p)
    return f" ({shown})" if shown else ""


def _count_text(count: int | None) -> str:
    return "" if count is None else f"count {count}"


def _records(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def _short(digest: str | None) -> str:
    return (digest or "")[:12]


def _rows(store: Store) -> Generator[_Row, None, None]:
    """The stored rows in sequence order, decoded one by one.

    Read without the columns' own types, so that one row edited into
    nonsense (a date that is not one, JSON that does not parse) is reported
    as that record, not as a crash of the whole check.
    """
    import sqlalchemy

    from rb.store.tables import audit

    raw = [sqlalchemy.type_coerce(c, sqlalchemy.Text) if c.name in _RAW else c for c in audit.c]
    query = sqlalchemy.select(*raw).order_by(audit.c.seq).execution_options(yield_per=500)
    with store.connect() as conn, conn.execute(query) as result:
        for row in result:
            yield _decode(row._mapping)


_RAW = ("at", "evidence", "details")  # decoded here, a row at a time


def _decode(row: Any) -> _Row:
    seq = int(row["seq"])
    try:
        at = _when(row["at"])
        entry = AuditEntry(
            actor=row["actor"],
            verified=bool(row["verified"]),
            action=row["action"],
            subject=row["subject"],
            origin=row["origin"],
            legal_basis=row["legal_basis"],
            evidence=_json(row["evidence"]),
            details=_json(row["details"]),
        )
    except (TypeError, ValueError) as exc:
        return _Row(seq, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return _Row(seq, AuditRecord(seq, at, entry, str(row["prev_hash"]), str(row["hash"])))


def _when(value: Any) -> datetime:
    """A stored time: the driver's datetime (PostgreSQL), or SQLite's text."""
    return aware(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def _json(value: Any) -> dict[str, Any]:
    """A stored JSON object: the driver's (PostgreSQL's JSONB), or SQLite's text."""
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValueError(f"expected a JSON object, got {type(loaded).__name__}")
    return loaded
