"""The definition lifecycle (publish, two-person approval, deprecate) and environments
that require an approved definition, on SQLite and PostgreSQL (docs/definitions.md)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rb.cli.app import main
from rb.errors import UsageError
from rb.service import definitions as lifecycle
from rb.service.identity import Actor
from rb.store.audit import records
from rb.store.database import Store, open_store

from .conftest import run_rb

RUNBOOK = """\
id: restart-api
name: Restart API
version: "1.0.0"
owner: platform-team
legal_basis: Ops policy 4.2
environments:
  prod: {require: approved}
  staging: {require: any}
steps:
  - id: pause
    type: wait
    inputs: {seconds: 0}
"""

PARKS = """\
id: parks
name: Parks for an approval
version: "1.0.0"
legal_basis: Ops policy 4.2
environments:
  prod: {require: approved}
steps:
  - id: ask
    type: approval
    inputs:
      message: Go on?
      approvers: [bob]
  - id: after
    type: wait
    depends_on: [ask]
    inputs: {seconds: 0}
"""

ALICE, BOB, CAROL = Actor("alice"), Actor("bob"), Actor("carol")


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "restart-api.yaml"
    path.write_text(RUNBOOK, encoding="utf-8")
    return path


@pytest.fixture
def store(store_url: str) -> Store:
    return open_store(store_url)


def edit(path: Path, seconds: int) -> None:
    path.write_text(RUNBOOK.replace("seconds: 0", f"seconds: {seconds}"), encoding="utf-8")


# The lifecycle -----------------------------------------------------------------------


def test_publish_makes_a_draft_and_the_same_text_again_is_the_same_version(
    store: Store, book: Path
) -> None:
    first = lifecycle.publish(store, book, ALICE)
    assert first.created
    assert (first.definition.ref, first.definition.state) == ("restart-api@1", "draft")
    assert first.definition.author == "alice"
    again = lifecycle.publish(store, book, BOB)
    assert not again.created
    assert again.definition.ref == "restart-api@1"
    assert again.definition.author == "alice"
    edit(book, 1)
    second = lifecycle.publish(store, book, ALICE)
    assert (second.created, second.definition.version) == (True, 2)
    assert [d.version for d in lifecycle.versions(store, "restart-api")] == [1, 2]


def test_an_invalid_file_is_refused_with_its_diagnostics(store: Store, tmp_path: Path) -> None:
    from rb.errors import RunbookError

    bad = tmp_path / "bad.yaml"
    bad.write_text(RUNBOOK.replace("type: wait", "type: nosuchtype"), encoding="utf-8")
    with pytest.raises(RunbookError) as refused:
        lifecycle.publish(store, bad, ALICE)
    assert "bad.yaml:" in str(refused.value) and "nosuchtype" in str(refused.value)
    assert lifecycle.versions(store) == []


def test_the_author_cannot_approve_and_another_can(store: Store, book: Path) -> None:
    lifecycle.publish(store, book, ALICE)
    with pytest.raises(lifecycle.SelfApproval, match="two-person rule"):
        lifecycle.approve(store, "restart-api", 1, ALICE)
    approved = lifecycle.approve(store, "restart-api", 1, BOB)
    assert (approved.state, approved.approved_by) == ("approved", "bob")
    with pytest.raises(lifecycle.DefinitionRefused, match=r"is approved \(approved by bob\)"):
        lifecycle.approve(store, "restart-api", 1, CAROL)


def test_two_approvers_racing_cannot_both_win(store: Store, book: Path) -> None:
    lifecycle.publish(store, book, ALICE)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def approver(name: str) -> None:
        start.wait()
        try:
            lifecycle.approve(store, "restart-api", 1, Actor(name))
            outcomes[name] = "approved"
        except lifecycle.DefinitionRefused:
            outcomes[name] = "refused"

    threads = [threading.Thread(target=approver, args=(n,)) for n in ("bob", "carol")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["approved", "refused"]
    winner = next(n for n, o in outcomes.items() if o == "approved")
    assert lifecycle.get(store, "restart-api", 1).approved_by == winner
    approvals = [r for r in records(store) if r.entry.action == "definition.approve"]
    assert [r.entry.actor for r in approvals] == [winner]


def test_publishers_racing_get_one_version_each(store: Store, tmp_path: Path) -> None:
    paths = []
    for n in range(4):
        path = tmp_path / f"v{n}.yaml"
        path.write_text(RUNBOOK.replace("seconds: 0", f"seconds: {n}"), encoding="utf-8")
        paths.append(path)
    start = threading.Barrier(len(paths))
    got: list[int] = []

    def publisher(path: Path) -> None:
        start.wait()
        got.append(lifecycle.publish(store, path, ALICE).definition.version)

    threads = [threading.Thread(target=publisher, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [1, 2, 3, 4]


def test_history_diff_and_deprecate(
    store_url: str, book: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rb = _rb(store_url, capsys)
    assert rb("publish", str(book), actor="alice")[0] == 0
    assert rb("definitions", "approve", "restart-api@1", actor="bob")[0] == 0
    edit(book, 5)
    code, out, _ = rb("publish", str(book), actor="alice")
    assert code == 0 and out.startswith("published restart-api@2  sha256 ")
    code, out, _ = rb("definitions", "diff", "restart-api@1", "restart-api@2")
    assert code == 1
    assert "--- restart-api@1\n+++ restart-api@2\n" in out
    assert "-    inputs: {seconds: 0}\n+    inputs: {seconds: 5}\n" in out
    code, out, _ = rb("definitions", "diff", "restart-api@2", str(book))
    assert (code, out) == (0, f"restart-api@2 and {book} are the same\n")
    assert rb("definitions", "deprecate", "restart-api@1", actor="carol")[0] == 0
    code, _, err = rb("definitions", "deprecate", "restart-api@1", actor="carol")
    assert code == 1 and "restart-api@1 is deprecated (deprecated by carol)" in err
    code, out, _ = rb("definitions", "history", "restart-api")
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["VERSION", "STATE", "EVENT", "BY", "AT", "(UTC)"]
    assert [line[:4] for line in lines[1:2]] == [
        ["restart-api@1", "deprecated", "published", "alice"]
    ]
    assert [line[:2] for line in lines[2:4]] == [["approved", "bob"], ["deprecated", "carol"]]
    assert lines[4][:4] == ["restart-api@2", "draft", "published", "alice"]
    code, out, _ = rb("definitions", "list", "--format", "json")
    assert [(d["version"], d["state"]) for d in _json(out)] == [(1, "deprecated"), (2, "draft")]
    code, _, err = rb("definitions", "approve", "restart-api@9", actor="bob")
    assert code == 2 and "restart-api has no version 9 (its versions: 1, 2)" in err


def test_every_change_is_an_audit_record(store: Store, book: Path) -> None:
    published = lifecycle.publish(store, book, ALICE).definition
    lifecycle.publish(store, book, ALICE)  # the same text: nothing new, nothing recorded
    lifecycle.approve(store, "restart-api", 1, BOB)
    lifecycle.deprecate(store, "restart-api", 1, CAROL)
    trail = [r.entry for r in records(store)]
    assert [(e.action, e.actor, e.subject) for e in trail] == [
        ("publish", "alice", "restart-api@1"),
        ("definition.approve", "bob", "restart-api@1"),
        ("definition.deprecate", "carol", "restart-api@1"),
    ]
    assert {e.legal_basis for e in trail} == {"Ops policy 4.2"}
    assert trail[0].details == {"content_hash": published.content_hash, "path": str(book)}
    assert trail[2].details["previous"] == "approved"


# Environments ------------------------------------------------------------------------


def test_a_prod_run_needs_the_approved_file(
    store_url: str, book: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rb = _rb(store_url, capsys)
    code, _, err = rb("run", str(book), "--env", "prod", actor="alice")
    assert code == 1
    assert "prod requires an approved definition" in err
    assert "No version of restart-api is approved yet" in err
    assert f"Publish it with `rb publish {book}`" in err
    assert "`rb definitions approve restart-api@1`" in err
    rb("publish", str(book), actor="alice")
    rb("definitions", "approve", "restart-api@1", actor="bob")
    approved = lifecycle.get(open_store(store_url), "restart-api", 1)
    code, out, err = rb("run", str(book), "--env", "prod", actor="alice")
    assert code == 0, err
    assert "SUCCESS" in out
    code, shown, _ = rb("runs", "show", "last")
    assert "  environment  prod\n" in shown
    edit(book, 1)  # edited after approval: refused, naming the approved version's hash
    code, _, err = rb("run", str(book), "--env", "prod", actor="alice")
    assert code == 1
    assert (
        f"The approved version is 1 (sha256 {approved.content_hash[:8]}…), approved by bob on "
        f"{approved.approved_at.date().isoformat() if approved.approved_at else ''}." in err
    )
    edited = hashlib.sha256(book.read_bytes()).hexdigest()
    assert f"this file (sha256 {edited[:8]}…) is not one." in err
    edit(book, 0)  # back to the approved text
    assert rb("run", str(book), "--env", "prod", actor="alice")[0] == 0
    rb("definitions", "deprecate", "restart-api@1", actor="carol")
    code, _, err = rb("run", str(book), "--env", "prod", actor="alice")
    assert code == 1
    assert "It is version 1, deprecated by carol" in err


def test_an_undeclared_environment_is_refused_with_the_declared_ones(
    store_url: str, book: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rb = _rb(store_url, capsys)
    code, _, err = rb("run", str(book), "--env", "prdo")
    assert code == 2
    assert "runbook restart-api has no environment 'prdo' (it declares prod, staging)" in err


def test_an_environment_without_require_approved_runs_any_version(
    store_url: str, book: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rb = _rb(store_url, capsys)
    edit(book, 0)
    code, _, err = rb("run", str(book), "--env", "staging")
    assert code == 0, err
    assert rb("run", str(book))[0] == 0  # and without --env, no rules apply


def test_no_record_does_not_go_with_an_environment_that_requires_approval(
    store_url: str, book: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rb = _rb(store_url, capsys)
    code, _, err = rb("run", str(book), "--env", "prod", "--no-record")
    assert code == 2 and "drop --no-record" in err


def test_a_parked_run_is_checked_again_when_it_resumes(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rb = _rb(store_url, capsys)
    path = tmp_path / "parks.yaml"
    path.write_text(PARKS, encoding="utf-8")
    rb("publish", str(path), actor="alice")
    rb("definitions", "approve", "parks@1", actor="carol")
    code, out, err = rb("run", str(path), "--env", "prod", actor="alice")
    assert code == 0 and "WAITING" in out, err
    from rb.service.runs import recorded

    parked = recorded("last", db=store_url)
    assert parked.status == "waiting" and parked.metadata["environment"] == "prod"
    # Deprecated while the run waited: its next start is refused.
    rb("definitions", "deprecate", "parks@1", actor="carol")
    code, _, err = rb("approve", parked.id, "--as", "bob")
    assert code == 1, err
    assert "prod requires an approved definition" in err and "deprecated by carol" in err
    code, _, err = rb("resume", parked.id, actor="bob")
    assert code == 1 and "It is version 1, deprecated by carol" in err
    assert recorded(parked.id, db=store_url).status == "waiting"


def test_a_real_rb_process_refuses_an_edited_file(tmp_path: Path, book: Path) -> None:
    db = f"sqlite:///{tmp_path}/rb.db"
    assert run_rb("publish", str(book), "--db", db, "--actor", "alice").returncode == 0
    approved = run_rb("definitions", "approve", "restart-api@1", "--db", db, "--actor", "bob")
    assert approved.returncode == 0, approved.stderr
    edit(book, 2)
    refused = run_rb("run", str(book), "--env", "prod", "--db", db)
    assert refused.returncode == 1
    assert refused.stderr.startswith("rb: error: runbook restart-api: prod requires an approved")


def test_a_queued_run_is_checked_again_when_a_worker_starts_it(
    queue_url: str, tmp_path: Path
) -> None:
    from rb.loader import load_file
    from rb.service.enqueue import queue_run
    from rb.service.request import Recording, RunRequest
    from rb.service.runbooks import require_valid
    from rb.service.runner import live_world

    from .worker_helpers import wait_status, worker_pool, write_runbook

    project = tmp_path / "project"
    relative = write_runbook(project, "restart", RUNBOOK)
    store = open_store(queue_url)

    def queued() -> str:
        request = RunRequest(
            require_valid(load_file(project / relative)),
            live_world(secrets={}, facts={}),
            params={},
            recording=Recording(db=queue_url),
            actor="alice",
            environment="prod",
        )
        return queue_run(request, runbook_path=relative).execution_id

    with pytest.raises(lifecycle.DefinitionRefused):  # checked as it is queued
        queued()
    lifecycle.publish(store, project / relative, ALICE)
    lifecycle.approve(store, "restart-api", 1, BOB)
    doomed = queued()
    lifecycle.deprecate(store, "restart-api", 1, CAROL)  # before any worker takes it
    with worker_pool(queue_url, project) as pool:
        pool.start("w-env")
        failed = wait_status(store, doomed, "failure")
        assert failed.error is not None
        assert "prod requires an approved definition" in failed.error
        assert "It is version 1, deprecated by carol" in failed.error
        # The worker runs its own copy of the file: a newly approved one runs.
        edit(project / relative, 3)
        lifecycle.publish(store, project / relative, ALICE)
        lifecycle.approve(store, "restart-api", 2, BOB)
        ran = wait_status(store, queued(), "success")
        assert ran.metadata["environment"] == "prod"


# Over HTTP ---------------------------------------------------------------------------


def test_the_api_publishes_approves_and_deprecates(project: Path, store_url: str) -> None:
    from .rb_server import bearer_for, config_for, serving

    (project / "runbooks" / "restart.yaml").write_text(RUNBOOK, encoding="utf-8")
    (project.parent / "outside.yaml").write_text(RUNBOOK, encoding="utf-8")
    tokens = open_store(store_url)
    alice, bob = bearer_for(tokens, "alice", "admin"), bearer_for(tokens, "bob", "admin")
    with serving(config_for(project, store_url), headers={}) as api:
        post, get = api.client.post, api.client.get
        assert post("/api/definitions", json={"runbook_id": "restart-api"}).status_code == 401
        made = post("/api/definitions", json={"runbook_id": "restart-api"}, headers=alice)
        assert made.status_code == 201, made.text
        assert made.json() | {"published_at": None} == made.json() | {
            "runbook_id": "restart-api",
            "version": 1,
            "state": "draft",
            "author": "alice",
            "path": "runbooks/restart.yaml",
            "created": True,
            "published_at": None,
        }
        again = post("/api/definitions", json={"path": "runbooks/restart.yaml"}, headers=bob)
        assert (again.status_code, again.json()["version"]) == (200, 1)
        for outside in ("../outside.yaml", str(project.parent / "outside.yaml")):
            refused = post("/api/definitions", json={"path": outside}, headers=alice)
            assert refused.status_code == 400
            assert "outside the project" in refused.json()["error"]
        broken = post("/api/definitions", json={"runbook_id": "srv-broken"}, headers=alice)
        assert broken.status_code == 422 and broken.json()["diagnostics"]
        own = post("/api/definitions/restart-api/1/approve", headers=alice)
        assert own.status_code == 403 and "two-person rule" in own.json()["error"]
        done = post("/api/runbooks/restart-api/approve", headers=bob)  # the newest draft
        assert done.status_code == 200, done.text
        assert (done.json()["state"], done.json()["approved_by"]) == ("approved", "bob")
        twice = post("/api/definitions/restart-api/1/approve", headers=bob)
        assert twice.status_code == 409
        listed = get("/api/definitions?runbook=restart-api", headers=bob).json()
        assert [(d["version"], d["state"]) for d in listed["definitions"]] == [(1, "approved")]
        one = get("/api/definitions/restart-api/1", headers=bob).json()
        assert one["content"] == RUNBOOK
        assert get("/api/definitions/restart-api/7", headers=bob).status_code == 404
        gone = post("/api/definitions/restart-api/1/deprecate", headers=bob)
        assert gone.json()["state"] == "deprecated"
        none_left = post("/api/runbooks/restart-api/deprecate", headers=bob)
        assert none_left.status_code == 404
    trail = [(r.entry.action, r.entry.actor) for r in records(open_store(store_url))]
    assert trail == [
        ("publish", "alice"),
        ("definition.approve", "bob"),
        ("definition.deprecate", "bob"),
    ]


def test_a_viewer_reads_definitions_but_does_not_change_them(project: Path) -> None:
    from .rb_server import bearer_for, config_for, serving

    (project / "runbooks" / "restart.yaml").write_text(RUNBOOK, encoding="utf-8")
    config = config_for(project)
    viewer = bearer_for(open_store(config.db), "vera", "viewer")
    with serving(config, headers=viewer) as api:
        refused = api.client.post("/api/definitions", json={"runbook_id": "restart-api"})
        assert refused.status_code == 403
        assert refused.json()["error"] == "vera has role viewer; this needs admin or higher"
        assert api.client.get("/api/definitions").json() == {"definitions": []}


def test_a_live_run_over_the_api_names_its_environment(project: Path, store_url: str) -> None:
    from .rb_server import API_TOKEN, BEARER, config_for, serving

    path = project / "runbooks" / "restart.yaml"
    path.write_text(RUNBOOK, encoding="utf-8")
    with serving(config_for(project, store_url, token=API_TOKEN), headers=BEARER) as api:
        refused = api.execute(runbook_id="restart-api", environment="prod")
        assert refused.status_code == 409
        assert "prod requires an approved definition" in refused.json()["error"]
        typo = api.execute(runbook_id="restart-api", environment="prdo")
        assert typo.status_code == 400 and "it declares prod, staging" in typo.json()["error"]
        store = open_store(store_url)
        lifecycle.publish(store, path, ALICE)
        lifecycle.approve(store, "restart-api", 1, BOB)
        ran = api.execute(runbook_id="restart-api", environment="prod")
        assert ran.status_code == 200, ran.text
        assert ran.json()["status"] == "success"
        assert ran.json()["metadata"]["environment"] == "prod"


# Helpers ---------------------------------------------------------------------------


def _rb(db: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`rb ARGS --db DB [--actor NAME]` in this process: exit code, stdout, stderr."""

    def rb(*args: str, actor: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*args, "--db", db, *(["--actor", actor] if actor else [])])
        out, err = capsys.readouterr()
        return code, out, err

    return rb


def _json(text: str) -> Any:
    import json

    return json.loads(text)


def test_parse_ref() -> None:
    assert lifecycle.parse_ref("restart-api@12") == ("restart-api", 12)
    with pytest.raises(UsageError, match="is not ID@VERSION"):
        lifecycle.parse_ref("restart-api")
