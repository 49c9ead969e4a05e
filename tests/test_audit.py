"""The audit trail: verify catches every kind of tampering, export, list, and the CLI's
own actions recorded; on SQLite and PostgreSQL.

Rows are tampered with directly in SQL, as someone with write access to the
database would, never through rb.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from rb.store.audit import AuditEntry, append, record_hash, records, verify
from rb.store.database import Store, open_store
from rb.store.tables import audit

from .conftest import ROOT, run_rb

COUNT = 6


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        actor=f"user{n}",
        verified=n % 2 == 0,
        action="trigger" if n % 3 else "approve",
        subject=f"execution-{n}",
        origin="cli@host",
        legal_basis="policy 7.1" if n % 2 else None,
        evidence={"execution": f"execution-{n}", "screenshots": [f"shot{n}.png"]},
        details={"n": n, "comment": "ünïcode"},
    )


def _fill(store: Store, count: int = COUNT) -> list[str]:
    """Append `count` records; their hashes, in order."""
    return [append(store, _entry(n)).hash for n in range(1, count + 1)]


def _sql(store: Store, *statements: Any) -> None:
    with store.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def _row(store: Store, seq: int) -> Any:
    with store.connect() as conn:
        return conn.execute(sqlalchemy.select(audit).where(audit.c.seq == seq)).one()


def _set(where: int, /, **values: Any) -> Any:
    """UPDATE the record numbered `where`."""
    return sqlalchemy.update(audit).where(audit.c.seq == where).values(**values)


def _renumber(store: Store, old: int, new: int) -> None:
    _sql(store, _set(old, seq=new))


def _forge_middle(store: Store) -> None:
    """Move records 3.. one up and put a forged record 3 with a valid hash in the gap."""
    prev = _row(store, 2).hash
    _sql(
        store,
        sqlalchemy.update(audit).where(audit.c.seq >= 3).values(seq=audit.c.seq + 100),
        sqlalchemy.update(audit).where(audit.c.seq >= 100).values(seq=audit.c.seq - 99),
    )
    at = datetime.now(UTC)
    forged = AuditEntry("mallory", True, "approve", "execution-x", "10.0.0.9")
    _sql(store, _insert(3, at, forged, prev, record_hash(3, at, forged, prev)))


def _insert(seq: int, at: datetime, entry: AuditEntry, prev: str, digest: str) -> Any:
    return audit.insert().values(
        seq=seq,
        at=at,
        actor=entry.actor,
        verified=entry.verified,
        action=entry.action,
        subject=entry.subject,
        origin=entry.origin,
        legal_basis=entry.legal_basis,
        evidence=dict(entry.evidence),
        details=dict(entry.details),
        prev_hash=prev,
        hash=digest,
    )


def _forge_end(store: Store) -> None:
    """A record after the head whose hash is copied from another record."""
    head = _row(store, COUNT)
    at = datetime.now(UTC)
    _sql(store, _insert(COUNT + 1, at, _entry(99), head.hash, _row(store, 2).hash))


def _rehash(store: Store) -> None:
    """Edit record 3 and give it the hash of its new contents: record 4 no longer links."""
    row = _row(store, 3)
    entry = AuditEntry(
        "mallory", row.verified, row.action, row.subject, row.origin, row.legal_basis,
        row.evidence, row.details,
    )  # fmt: skip
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    _sql(store, _set(3, actor="mallory", hash=record_hash(3, at, entry, row.prev_hash)))


def _swap(store: Store) -> None:
    _sql(store, _set(2, seq=100), _set(3, seq=2), _set(100, seq=3))


Tamper = Callable[[Store], None]

# (what is done to the chain of COUNT records, the first broken seq, what verify says)
TAMPERING: list[tuple[str, Tamper, int, str]] = [
    ("actor edited", lambda s: _sql(s, _set(3, actor="mallory")), 3, "record 3 was edited"),
    (
        "time edited",
        lambda s: _sql(s, _set(2, at=datetime(2020, 1, 1, tzinfo=UTC))),
        2,
        "record 2 was edited",
    ),
    (
        "evidence edited",
        lambda s: _sql(s, _set(4, evidence={"execution": "other"})),
        4,
        "record 4 was edited",
    ),
    ("details edited", lambda s: _sql(s, _set(5, details={"n": 0})), 5, "record 5 was edited"),
    ("verified flipped", lambda s: _sql(s, _set(1, verified=True)), 1, "record 1 was edited"),
    ("legal basis dropped", lambda s: _sql(s, _set(3, legal_basis=None)), 3, "was edited"),
    ("hash replaced", lambda s: _sql(s, _set(2, hash="f" * 64)), 2, "record 2 was edited"),
    (
        "edited and rehashed",
        _rehash,
        4,
        "record 4's prev_hash does not match record 3",
    ),
    (
        "middle deleted",
        lambda s: _sql(s, audit.delete().where(audit.c.seq == 3)),
        3,
        "record 3 is missing (2 is followed by 4)",
    ),
    (
        "first deleted",
        lambda s: _sql(s, audit.delete().where(audit.c.seq == 1)),
        1,
        "record 1 is missing (the chain starts at 2)",
    ),
    ("forged record inserted", _forge_middle, 4, "record 4 was renumbered"),
    ("forged record appended", _forge_end, COUNT + 1, f"record {COUNT + 1} was edited"),
    ("two records swapped", _swap, 2, "record 2 was renumbered"),
    (
        "renumbered with a gap",
        lambda s: _renumber(s, COUNT, COUNT + 2),
        COUNT,
        f"record {COUNT} is missing ({COUNT - 1} is followed by {COUNT + 2})",
    ),
    ("renumbered to 0", lambda s: _renumber(s, 1, 0), 0, "record 0 is numbered before 1"),
]


def test_an_untouched_chain_verifies(store: Store) -> None:
    hashes = _fill(store)
    found = verify(store)
    assert (found.ok, found.count, found.head, found.head_seq) == (True, COUNT, hashes[-1], COUNT)
    assert found.broken_seq is None
    assert "cannot be detected without an anchor" in found.reason
    assert [r.seq for r in records(store)] == list(range(1, COUNT + 1))


def test_an_empty_trail_verifies_and_says_a_deleted_one_looks_the_same(store: Store) -> None:
    found = verify(store)
    assert (found.ok, found.count, found.head_seq) == (True, 0, 0)
    assert "keep an anchor" in found.reason


@pytest.mark.parametrize(
    ("tamper", "broken", "says"),
    [t[1:] for t in TAMPERING],
    ids=[t[0] for t in TAMPERING],
)
def test_verify_names_the_first_broken_record(
    store: Store, tamper: Tamper, broken: int, says: str
) -> None:
    _fill(store)
    tamper(store)
    found = verify(store)
    assert not found.ok
    assert found.broken_seq == broken, found.reason
    assert says in found.reason


@pytest.mark.parametrize(
    ("tamper", "broken", "says"),
    [t[1:] for t in TAMPERING if t[0] in ("actor edited", "middle deleted", "edited and rehashed")],
)
def test_rb_audit_verify_exits_1_naming_the_broken_link(
    store: Store, store_url: str, tamper: Tamper, broken: int, says: str
) -> None:
    _fill(store)
    assert run_rb("audit", "verify", "--db", store_url).returncode == 0
    tamper(store)
    done = run_rb("audit", "verify", "--db", store_url)
    assert done.returncode == 1, done.stderr
    assert "BROKEN" in done.stdout and says in done.stdout
    as_json = run_rb("audit", "verify", "--db", store_url, "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert (document["ok"], document["broken_seq"]) == (False, broken)


def test_a_record_edited_into_nonsense_is_reported_not_crashed_on(tmp_path: Path) -> None:
    """SQLite keeps any text: a date that is none, JSON that does not parse."""
    store = open_store(f"sqlite:///{tmp_path}/rb.db")
    _fill(store)
    _sql(
        store,
        sqlalchemy.text("UPDATE runbook_audit SET at = 'yesterday' WHERE seq = 2"),
        sqlalchemy.text("UPDATE runbook_audit SET evidence = '{nope' WHERE seq = 4"),
    )
    found = verify(store)
    assert (found.ok, found.broken_seq) == (False, 2)
    assert "record 2 cannot be read" in found.reason
    store.dispose()


def test_an_anchor_catches_the_last_record_deleted(store: Store, store_url: str) -> None:
    _fill(store)
    anchor = verify(store)
    _sql(store, audit.delete().where(audit.c.seq == COUNT))
    assert verify(store).ok  # from inside, a shorter chain is whole
    cut = verify(store, head=anchor.head, count=anchor.count)
    assert (cut.ok, cut.broken_seq) == (False, COUNT)
    assert f"records after record {COUNT - 1} were deleted" in cut.reason
    head_only = verify(store, head=anchor.head)
    assert not head_only.ok and "is not in the chain" in head_only.reason
    done = run_rb("audit", "verify", "--db", store_url, "--head", anchor.head)
    assert done.returncode == 1 and "is not in the chain" in done.stdout


def test_an_anchor_still_holds_after_later_appends(store: Store, store_url: str) -> None:
    _fill(store)
    anchor = verify(store)
    append(store, _entry(7))
    found = verify(store, head=anchor.head, count=anchor.count)
    assert found.ok and found.anchored and found.count == COUNT + 1
    done = run_rb(
        "audit", "verify", "--db", store_url, "--head", anchor.head, "--count", str(anchor.count)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still reaches the anchor" in done.stdout
    wrong = verify(store, head=anchor.head, count=COUNT - 1)
    assert not wrong.ok and f"is record {COUNT}, not record {COUNT - 1}" in wrong.reason


def test_a_malformed_head_is_bad_usage(store_url: str) -> None:
    done = run_rb("audit", "verify", "--db", store_url, "--head", "abc")
    assert done.returncode == 2
    assert "64 hexadecimal characters" in done.stderr


def test_export_since_writes_json_lines_a_siem_reads(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    for n, age in ((1, timedelta(days=10)), (2, timedelta(days=3)), (3, timedelta(hours=1))):
        append(store, _entry(n), at=now - age)
    output = tmp_path / "audit.jsonl"
    done = run_rb("audit", "export", "--since", "7d", "--db", store_url, "--output", str(output))
    assert done.returncode == 0, done.stderr
    lines = output.read_text(encoding="utf-8").splitlines()
    exported = [json.loads(line) for line in lines]
    assert [e["seq"] for e in exported] == [2, 3]
    assert all(e["at"].endswith("Z") for e in exported)
    first = exported[0]
    assert first["actor"] == "user2" and first["details"] == {"n": 2, "comment": "ünïcode"}
    assert set(first) == {
        "seq", "at", "actor", "verified", "action", "subject", "origin", "legal_basis",
        "evidence", "details", "prev_hash", "hash",
    }  # fmt: skip
    assert exported[1]["prev_hash"] == first["hash"]
    day = (now - timedelta(days=5)).date().isoformat()
    on_stdout = run_rb("audit", "export", "--since", day, "--db", store_url)
    assert [json.loads(line)["seq"] for line in on_stdout.stdout.splitlines()] == [2, 3]
    everything = run_rb("audit", "export", "--db", store_url)
    assert len(everything.stdout.splitlines()) == 3


def test_list_shows_the_newest_records(store: Store, store_url: str) -> None:
    _fill(store)
    done = run_rb("audit", "list", "--limit", "2", "--db", store_url)
    assert done.returncode == 0, done.stderr
    assert "execution-6" in done.stdout and "execution-5" in done.stdout
    assert "execution-4" not in done.stdout
    assert "user5 (unverified)" in done.stdout
    as_json = json.loads(run_rb("audit", "list", "--format", "json", "--db", store_url).stdout)
    assert [r["seq"] for r in as_json] == list(range(COUNT, 0, -1))


APPENDER = """
import sys
from rb.store.audit import AuditEntry, append
from rb.store.database import open_store

store = open_store(sys.argv[1])
for n in range(int(sys.argv[3])):
    append(store, AuditEntry(sys.argv[2], False, "trigger", f"run-{n}", "cli@test"))
"""


def test_concurrent_appends_from_several_processes_never_fork_the_chain(
    store: Store, store_url: str
) -> None:
    writers, each = 4, 15
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, store_url, f"writer{w}", str(each)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    for p in processes:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    found = verify(store)
    assert found.ok, found.reason
    assert found.count == writers * each
    stored = list(records(store))
    assert [r.seq for r in stored] == list(range(1, writers * each + 1))
    assert len({r.prev_hash for r in stored}) == len(stored)  # no two share a parent


LIVE_RUNBOOK = """\
id: audited
name: Audited
version: "2"
owner: platform-team
legal_basis: Incident policy 4.2
description: One step that waits for nothing.
steps:
  - {id: pause, type: wait, inputs: {seconds: 0}}
"""


def test_rb_run_records_its_trigger(tmp_path: Path, store_url: str) -> None:
    path = tmp_path / "audited.yaml"
    path.write_text(LIVE_RUNBOOK, encoding="utf-8")
    done = run_rb("run", str(path), "--db", store_url, cwd=tmp_path, env={"RB_ACTOR": "alice"})
    assert done.returncode == 0, done.stdout + done.stderr
    store = open_store(store_url)
    (trigger,) = records(store)
    execution_id = trigger.entry.subject
    assert execution_id in done.stdout  # "recorded as <id>"
    entry = trigger.entry
    assert (entry.actor, entry.verified, entry.action) == ("alice", False, "trigger")
    assert entry.origin.startswith("cli@")
    assert entry.legal_basis == "Incident policy 4.2"
    assert entry.evidence["execution"] == execution_id
    assert entry.evidence["status"] == "success"
    assert entry.details == {"runbook": "audited", "version": "2", "recorded": True}
    by_option = run_rb("run", str(path), "--db", store_url, "--actor", "bob", cwd=tmp_path)
    assert by_option.returncode == 0
    assert [r.entry.actor for r in records(store)] == ["alice", "bob"]
    assert verify(store).ok
    store.dispose()


def test_an_unrecorded_run_is_audited_only_in_a_store_that_exists(tmp_path: Path) -> None:
    path = tmp_path / "audited.yaml"
    path.write_text(LIVE_RUNBOOK, encoding="utf-8")
    db_file = tmp_path / "rb.db"
    url = f"sqlite:///{db_file}"
    done = run_rb("run", str(path), "--no-record", "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not db_file.exists()  # not recording never creates a store
    store = open_store(url)
    done = run_rb("run", str(path), "--no-record", "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (trigger,) = records(store)
    assert trigger.entry.details["recorded"] is False
    store.dispose()


APPROVAL_RUNBOOK = """\
id: audited-approval
name: Audited approval
version: "1"
owner: platform-team
legal_basis: Change policy 2
description: Waits for an approval.
steps:
  - id: ask
    type: approval
    inputs: {message: "go?", approvers: [alice, bob]}
"""


def test_approve_and_cancel_from_the_cli_are_recorded(tmp_path: Path, store_url: str) -> None:
    path = tmp_path / "approval.yaml"
    path.write_text(APPROVAL_RUNBOOK, encoding="utf-8")
    for _ in range(2):
        started = run_rb("run", str(path), "--actor", "olivia", "--db", store_url, cwd=tmp_path)
        assert started.returncode == 0, started.stderr
    store = open_store(store_url)
    first, second = (r.entry.subject for r in records(store))
    approved = run_rb(
        "approve", first, "--as", "alice", "--comment", "ok", "--db", store_url, cwd=tmp_path
    )
    assert approved.returncode == 0, approved.stderr
    cancelled = run_rb("cancel", second, "--actor", "bob", "--db", store_url, cwd=tmp_path)
    assert cancelled.returncode == 0, cancelled.stderr
    refused = run_rb("cancel", second, "--actor", "bob", "--db", store_url, cwd=tmp_path)
    assert refused.returncode == 2  # it has ended: nothing done, nothing recorded
    trail = [(r.entry.action, r.entry.actor, r.entry.subject) for r in records(store)]
    assert trail == [
        ("trigger", "olivia", first),
        ("trigger", "olivia", second),
        ("approve", "alice", first),
        ("cancel", "bob", second),
    ]
    approval = list(records(store))[2].entry
    assert approval.legal_basis == "Change policy 2"  # from the execution's record
    assert approval.details == {"step": "ask", "comment": "ok"}
    assert approval.evidence == {"execution": first}
    assert verify(store).ok
    store.dispose()


def test_a_run_cut_short_is_still_recorded(tmp_path: Path, store_url: str) -> None:
    from .services import running_process

    path = tmp_path / "long.yaml"
    path.write_text(LIVE_RUNBOOK.replace("seconds: 0", "seconds: 600"), encoding="utf-8")
    argv = [sys.executable, "-m", "rb", "run", str(path), "--db", store_url, "--actor", "carol"]
    with running_process(argv, name="rb run", cwd=tmp_path, merge_stdout=True) as run:
        run.wait_for_line("start", "pause", timeout=60)
        assert run.stop() == 130, run.output  # SIGTERM stops it as Ctrl-C does
    store = open_store(store_url)
    (trigger,) = records(store)
    assert (trigger.entry.action, trigger.entry.actor) == ("trigger", "carol")
    assert trigger.entry.evidence == {"execution": trigger.entry.subject}  # no outcome
    store.dispose()


def test_resume_retry_and_event_are_recorded(tmp_path: Path, store_url: str) -> None:
    path = tmp_path / "event.yaml"
    path.write_text(EVENT_RUNBOOK, encoding="utf-8")
    started = run_rb("run", str(path), "--actor", "olivia", "--db", store_url, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    sent = run_rb(
        "event", "send", "go", "--key", "k1", "--data", "{}", "--as", "ed", "--db", store_url
    )
    assert sent.returncode == 0, sent.stderr
    kept = run_rb("event", "send", "go", "--key", "k2", "--as", "ed", "--db", store_url)
    assert kept.returncode == 0, kept.stderr
    store = open_store(store_url)
    execution_id = next(records(store)).entry.subject
    retried = run_rb(
        "retry", execution_id, "--step", "after", "--actor", "rita", "--db", store_url,
        cwd=tmp_path,
    )  # fmt: skip
    assert retried.returncode == 0, retried.stdout + retried.stderr
    trail = [(r.entry.action, r.entry.actor, r.entry.subject) for r in records(store)]
    assert trail == [
        ("trigger", "olivia", execution_id),
        ("event", "ed", execution_id),
        ("event", "ed", "event go (k2)"),
        ("retry", "rita", execution_id),
    ]
    retry = list(records(store))[3].entry
    assert retry.details == {"step": "after"} and retry.evidence["status"] == "success"
    assert retry.legal_basis == "Change policy 2"
    assert verify(store).ok
    store.dispose()


EVENT_RUNBOOK = """\
id: audited-event
name: Audited event
version: "1"
owner: platform-team
legal_basis: Change policy 2
description: Waits for an event, then waits for nothing.
steps:
  - id: wait
    type: wait_event
    inputs: {event: go, key: k1}
  - {id: after, type: wait, depends_on: [wait], inputs: {seconds: 0}}
"""


def test_resume_is_recorded_and_a_refused_pause_is_not(tmp_path: Path, store_url: str) -> None:
    path = tmp_path / "approval.yaml"
    path.write_text(APPROVAL_RUNBOOK, encoding="utf-8")
    started = run_rb("run", str(path), "--actor", "olivia", "--db", store_url, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    store = open_store(store_url)
    execution_id = next(records(store)).entry.subject
    paused = run_rb("pause", execution_id, "--actor", "pat", "--db", store_url, cwd=tmp_path)
    assert paused.returncode == 2 and "nothing runs to pause" in paused.stderr
    done = run_rb("resume", execution_id, "--actor", "pat", "--db", store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    trail = [(r.entry.action, r.entry.actor) for r in records(store)]
    assert trail == [("trigger", "olivia"), ("resume", "pat")]
    resumed = list(records(store))[1].entry
    assert resumed.evidence["status"] == "waiting"  # parked at its approval again
    assert resumed.legal_basis == "Change policy 2"
    store.dispose()
