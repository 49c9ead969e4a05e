"""The live world's process handling: a timed-out command does not outlive its step."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rb.engine.events import EventBus
from rb.engine.scheduler import execute
from rb.plugins import step_types
from rb.world.live import LiveWorld, safe_url

from .engine_helpers import runbook


def test_a_timed_out_command_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        "import os, sys, threading; "
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "threading.Event().wait()"  # blocks until killed
    )
    book = runbook(
        f"""
id: t
name: T
version: "1"
steps:
  - id: stuck
    type: shell
    timeout_seconds: 1
    inputs: {{command: {sys.executable!r}, args: ["-c", {script!r}]}}
"""
    )
    world = LiveWorld(env=dict(os.environ))

    async def main():  # type: ignore[no-untyped-def]
        try:
            return await execute(book, world, params={}, step_types=step_types(), bus=EventBus())
        finally:
            await world.aclose()

    result = world.run(main)
    assert result.steps["stuck"].error == "timed out after 1s"
    pid = int(pid_file.read_text())
    # The process is gone (reaped): signal 0 reports it missing.
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_database_urls_are_shown_without_passwords() -> None:
    assert safe_url("postgresql://app:s3cret@db.internal:5432/prod") == (
        "postgresql://app:***@db.internal:5432/prod"
    )
