"""Notifications of live runs, delivered to real local servers (docs/notifications.md).

apprise's `json://` target posts to the tests' HTTP server (tests/servers.py),
and `mailto://` reaches a real SMTP server (aiosmtpd) on 127.0.0.1. Delivery
is awaited before the run returns, so nothing here waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rb.service.request import Recording, RunRequest
from rb.service.runner import Ran, execute
from rb.store.database import open_store
from rb.store.notifications import of_execution
from rb.world.live import LiveWorld

from .conftest import run_rb
from .engine_helpers import runbook
from .servers import TestServer, closed_port

SECRET = "hunter2-webhook-token"


def book(
    targets: list[str], *, events: str = "[failure]", fails: bool = True, extra: str = ""
) -> str:
    quoted = ", ".join(f'"{t}"' for t in targets)
    step = (
        '{id: deploy, type: shell, inputs: {command: sh, args: ["-c", "echo boom >&2; exit 3"]}}'
        if fails
        else '{id: deploy, type: shell, inputs: {command: "true"}}'
    )
    return f"""\
id: notify-live
name: Notify live
version: "1.2"
notify:
  - events: {events}
    to: [{quoted}]
    retry: {{max_attempts: 3, initial_delay_seconds: 0, multiplier: 2}}
{extra}steps:
  - {step}
"""


def run(text: str, db: str, *, secrets: dict[str, str] | None = None) -> Ran:
    world = LiveWorld(env={"PATH": "/usr/bin:/bin"}, secrets=secrets or {})
    return execute(RunRequest(runbook(text), world, params={}, recording=Recording(db=db)))


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/rb.db"


def test_a_failed_run_sends_one_message_naming_runbook_execution_and_step(
    http_server: TestServer, db: str
) -> None:
    ran = run(book([f"json://127.0.0.1:{http_server.port}/echo"]), db)
    assert ran.result.status == "failure"
    (posted,) = [r for r in http_server.requests if r.path == "/echo"]
    message = posted.json
    assert message["title"] == "rb: Notify live failed"
    body = message["message"]
    assert "Runbook: Notify live (notify-live, version 1.2)" in body
    assert f"Execution: {ran.execution_id}" in body
    assert "Failed step: deploy" in body and "exited with 3: boom" in body
    assert f"rb runs show {ran.execution_id}" in body
    (row,) = of_execution(open_store(db), str(ran.execution_id))
    assert (row.event, row.status, row.attempts, row.error) == ("failure", "sent", 1, None)
    assert row.channel == f"json://127.0.0.1:{http_server.port}/echo"


def test_the_link_points_at_the_server_when_rb_base_url_is_set(
    http_server: TestServer, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RB_BASE_URL", "https://rb.example.org/")
    ran = run(book([f"json://127.0.0.1:{http_server.port}/echo"]), db)
    body = http_server.last("/echo").json["message"]
    assert f"Link: https://rb.example.org/api/executions/{ran.execution_id}" in body


def test_success_is_sent_only_when_subscribed(http_server: TestServer, db: str) -> None:
    target = f"json://127.0.0.1:{http_server.port}/echo"
    quiet = run(book([target], fails=False), db)
    assert quiet.result.status == "success" and quiet.notifications == ()
    assert http_server.requests == []
    ran = run(book([target], events="[failure, success]", fails=False), db)
    assert [n.event for n in ran.notifications] == ["success"]
    assert http_server.last("/echo").json["title"] == "rb: Notify live succeeded"


@pytest.mark.parametrize("answer", ["500", "refused"])
def test_a_failing_target_is_tried_again_then_recorded_failed_and_the_run_is_unchanged(
    http_server: TestServer, db: str, answer: str
) -> None:
    port = http_server.port if answer == "500" else closed_port()
    target = f"json://127.0.0.1:{port}/status/500"
    ran = run(book([target], events="[success]", fails=False), db)
    assert ran.result.status == "success" and ran.result.ok
    if answer == "500":
        assert len([r for r in http_server.requests if r.path == "/status/500"]) == 3
    (row,) = of_execution(open_store(db), str(ran.execution_id))
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error and row.error.startswith("delivery failed:")


def test_secrets_in_a_target_are_sent_but_never_stored(http_server: TestServer, db: str) -> None:
    target = f"json://127.0.0.1:{http_server.port}/echo/${{secrets.HOOK}}"
    ran = run(book([target]), db, secrets={"HOOK": SECRET})
    assert http_server.last(f"/echo/{SECRET}").json  # the real value went out
    (row,) = of_execution(open_store(db), str(ran.execution_id))
    assert row.channel.endswith("/echo/${secrets.HOOK}") and row.status == "sent"
    assert SECRET not in Path(db.removeprefix("sqlite:///")).read_bytes().decode("latin-1")


def test_a_secret_that_is_not_set_fails_the_notification_not_the_run(db: str) -> None:
    ran = run(book(["json://127.0.0.1:9/echo/${secrets.NOPE}"]), db)
    assert ran.result.status == "failure"  # the step's failure, not the notification's
    (row,) = ran.notifications
    assert (row.status, row.attempts) == ("failed", 0)
    assert row.error is not None and "NOPE is not set" in row.error


def test_a_target_apprise_does_not_know_is_not_tried_again(db: str) -> None:
    (row,) = run(book(["nosuchservice://x"]), db).notifications
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error is not None and "not a notification URL" in row.error


# Email through a real SMTP server -------------------------------------------
@dataclass
class Mailbox:
    port: int
    messages: list[Any] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(closed_port())

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(envelope)
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def test_an_email_reaches_a_real_smtp_server(smtp_server: Mailbox, db: str) -> None:
    target = (
        f"mailto://127.0.0.1:{smtp_server.port}?from=rb@example.org&to=oncall@example.org"
        "&mode=insecure&user=rb"
    )
    ran = run(book([target]), db)
    assert [n.status for n in ran.notifications] == ["sent"], ran.notifications
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["oncall@example.org"]
    text = mail.content.decode()
    assert "Notify live failed" in text and str(ran.execution_id) in text


def test_rb_run_warns_of_an_undelivered_notification_and_keeps_its_exit_code(
    tmp_path: Path,
) -> None:
    target = f"json://127.0.0.1:{closed_port()}/hook/${{secrets.HOOK}}"
    (tmp_path / "notify.yaml").write_text(book([target], events="[success]", fails=False))
    done = run_rb(
        "run",
        "notify.yaml",
        cwd=tmp_path,
        env={"RB_DATABASE_URL": f"sqlite:///{tmp_path}/rb.db", "RB_SECRET_HOOK": SECRET},
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"warning: the success notification to {target.replace(SECRET, '')} was not "
        "delivered (3 attempts): delivery failed:"
    ) in done.stderr
    shown = run_rb(
        "runs", "show", "last", cwd=tmp_path, env={"RB_DATABASE_URL": f"sqlite:///{tmp_path}/rb.db"}
    )
    assert "success          failed    3 attempts" in shown.stdout
    assert SECRET not in done.stdout + done.stderr + shown.stdout + shown.stderr
