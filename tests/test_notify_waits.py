"""The two waiting events: approval_needed when a run parks at an approval, and
waiting_too_long from the due sweep (rb resume --due, rb serve's sweep).

Real runs against a real store (SQLite and PostgreSQL); time is moved by
handing resume_due a `now` ahead, never by waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rb.service.due import resume_due
from rb.service.durable import resume
from rb.service.request import Recording, RunRequest
from rb.service.runner import Ran, execute
from rb.store.database import open_store
from rb.store.notifications import of_execution
from rb.world.live import LiveWorld

from .engine_helpers import runbook
from .servers import TestServer

RUNBOOK = """\
id: notify-waits
name: Notify waits
version: "1"
notify:
  - events: [approval_needed]
    to: ["json://127.0.0.1:{port}/echo/approvals"]
  - events: [waiting_too_long]
    to: ["json://127.0.0.1:{port}/echo/late"]
    waiting_too_long_seconds: 3600
steps:
  - id: ask
    type: approval
    inputs:
      message: Fail over the primary?
      approvers: [alice]
      timeout_seconds: 86400
"""


def park(http_server: TestServer, db: str) -> Ran:
    world = LiveWorld(env={}, secrets={})
    text = RUNBOOK.format(port=http_server.port)
    return execute(RunRequest(runbook(text), world, params={}, recording=Recording(db=db)))


def posted(http_server: TestServer, path: str) -> list[str]:
    return [r.json["message"] for r in http_server.requests if r.path == path]


def test_a_run_parked_at_an_approval_says_so_once(http_server: TestServer, store_url: str) -> None:
    ran = park(http_server, store_url)
    assert ran.result.status == "waiting"
    (body,) = posted(http_server, "/echo/approvals")
    assert "Waiting at step: ask: Fail over the primary?" in body
    assert f"Execution: {ran.execution_id}" in body
    # Resumed while nobody has decided: it parks again, and nobody is told twice.
    again = resume(str(ran.execution_id), db=store_url, world=LiveWorld(env={}))
    assert again.result.status == "waiting" and again.notifications == ()
    assert len(posted(http_server, "/echo/approvals")) == 1
    rows = of_execution(open_store(store_url), str(ran.execution_id))
    assert [(r.event, r.step_id, r.status) for r in rows] == [("approval_needed", "ask", "sent")]


def test_waiting_too_long_is_sent_once_past_the_threshold(
    http_server: TestServer, store_url: str
) -> None:
    ran = park(http_server, store_url)
    store = open_store(store_url)
    soon = datetime.now(UTC) + timedelta(minutes=30)
    assert resume_due(store, now=soon) == []
    assert posted(http_server, "/echo/late") == []
    later = datetime.now(UTC) + timedelta(hours=2)
    assert resume_due(store, now=later) == []  # its approval's deadline is a day away
    (body,) = posted(http_server, "/echo/late")
    assert (
        "Event: waiting_too_long" in body and "Waiting at step: ask: waiting for approval" in body
    )
    assert resume_due(store, now=later + timedelta(hours=1)) == []
    assert len(posted(http_server, "/echo/late")) == 1  # once per run and step
    events = [(r.event, r.status) for r in of_execution(store, str(ran.execution_id))]
    assert events == [("approval_needed", "sent"), ("waiting_too_long", "sent")]
