"""Notifications under a fixture: recorded, never sent; acceptance packs expect them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rb.store.database import open_store
from rb.store.notifications import of_execution
from rb.store.queries import list_runs

from .conftest import run_rb
from .servers import TestServer

RUNBOOK = """\
id: hello
name: Hello
version: "1"
notify:
  - events: [failure]
    to: ["{target}", "json://hooks.invalid/${{secrets.HOOK}}"]
  - events: [success]
    to: ["{target}"]
steps:
  - id: greet
    type: shell
    inputs: {{command: echo, args: [hello]}}
"""

GREETS = """\
secrets: {HOOK: hook-secret-value}
shell:
  - request: {command: echo, args: [hello]}
    response: {stdout: "hello\\n"}
"""

FAILS = """\
secrets: {HOOK: hook-secret-value}
shell:
  - request: {command: echo, args: [hello]}
    response: {exit_code: 1, stderr: "echo: broken pipe\\n"}
"""

PACK = """\
scenarios:
  - name: Greets
    fixture: fixtures/hello.yaml
    expected:
      status: success
      notifications: [{{event: success}}]
  - name: Echo fails
    fixture: fixtures/failures/echo-fails.yaml
    expected:
      status: failure
      notifications:
        - {{event: failure, to: "{target}"}}
        - {{event: failure, to: "json://hooks.invalid/${{secrets.HOOK}}"}}
"""


def project(tmp_path: Path, target: str, pack: str = PACK) -> Path:
    files = {
        "runbooks/hello.yaml": RUNBOOK.format(target=target),
        "fixtures/hello.yaml": GREETS,
        "fixtures/failures/echo-fails.yaml": FAILS,
        "acceptance/hello/acceptance.yml": pack.format(target=target),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def rb(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_rb(*args, cwd=cwd, env={"RB_DATABASE_URL": f"sqlite:///{cwd}/rb.db"})


def test_rb_test_records_the_notification_and_sends_nothing(
    tmp_path: Path, http_server: TestServer
) -> None:
    target = f"json://127.0.0.1:{http_server.port}/echo"
    cwd = project(tmp_path, target)
    done = rb(cwd, "test", "hello", "--fixture", "fixtures/failures/echo-fails.yaml")
    assert done.returncode == 1, done.stderr
    assert http_server.requests == []
    store = open_store(f"sqlite:///{cwd}/rb.db")
    (run,) = list_runs(store)
    rows = of_execution(store, run.id)
    assert [(r.event, r.channel, r.status, r.attempts) for r in rows] == [
        ("failure", target, "recorded", 1),
        ("failure", "json://hooks.invalid/${secrets.HOOK}", "recorded", 1),
    ]
    assert "Failed step: greet: echo exited with 1" in rows[0].body
    assert "hook-secret-value" not in (cwd / "rb.db").read_bytes().decode("latin-1")
    shown = rb(cwd, "runs", "show", run.id)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.endswith(
        "notifications:\n"
        f"  failure          recorded  1 attempt   {target}\n"
        "  failure          recorded  1 attempt   json://hooks.invalid/${secrets.HOOK}\n"
    )
    assert "hook-secret-value" not in shown.stdout + shown.stderr


def test_a_pack_expecting_the_notifications_passes(tmp_path: Path, http_server: TestServer) -> None:
    cwd = project(tmp_path, f"json://127.0.0.1:{http_server.port}/echo")
    done = rb(cwd, "acceptance", "--no-record")
    assert done.returncode == 0, done.stdout + done.stderr
    assert http_server.requests == []


def test_a_missing_or_unexpected_notification_fails_the_scenario(tmp_path: Path) -> None:
    target = "json://127.0.0.1:9/echo"
    pack = PACK.replace("[{{event: success}}]", "[{{event: failure}}]").replace(
        '        - {{event: failure, to: "json://hooks.invalid/${{secrets.HOOK}}"}}\n', ""
    )
    done = rb(project(tmp_path, target, pack), "acceptance", "--no-record")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    pack_file = "acceptance/hello/acceptance.yml"
    assert (
        f"  {pack_file}:6:7: notifications: expected failure, got success to {target}" in lines
    ), done.stdout
    assert (
        f"  {pack_file}:11:7: notifications: expected failure to {target}, got failure to "
        f"{target}, failure to json://hooks.invalid/${{secrets.HOOK}}" in lines
    ), done.stdout


def test_a_pack_expecting_an_event_the_runbook_never_sends_is_refused(tmp_path: Path) -> None:
    pack = PACK.replace("[{{event: success}}]", "[{{event: approval_needed}}]")
    done = rb(project(tmp_path, "json://127.0.0.1:9/echo", pack), "acceptance", "--no-record")
    assert done.returncode == 2
    assert (
        "acceptance/hello/acceptance.yml:6:31: error RB013 hello sends no notification on "
        "approval_needed (see its notify:)"
    ) in done.stderr, done.stderr
