"""A shell step's processes, grandchildren included, end with rb.

Real processes throughout: `rb run` in a child process, a command that starts
a grandchild, and rb ended by SIGTERM, Ctrl-C (SIGINT) or SIGKILL. Nothing
sleeps: the grandchild reports its pid through a FIFO, and its exit is seen
through a pidfd (Linux); both waits are bounded only so a broken rb cannot
hang the suite.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from .conftest import run_rb

BOUND_SECONDS = 60.0  # only so a broken rb cannot hang the suite

# `sh` starts `sleep` in the background, tells the test its pid, and waits.
RUNBOOK = """\
id: grandchild
name: Grandchild
version: "1"
steps:
  - id: spawn
    type: shell
    TIMEOUT
    inputs:
      command: sh
      args: ["-c", "sleep 300 & echo $! > \\"$1\\"; wait", "sh", "FIFO"]
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux pidfds")


@contextmanager
def grandchild_fifo(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A FIFO the command writes the grandchild's pid to, open for reading.

    Opened read-write, so opening never blocks and reads wait for data
    rather than seeing end-of-file.
    """
    fifo = tmp_path / "grandchild.pid"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)
    try:
        yield fifo, fd
    finally:
        os.close(fd)


def read_pid(fd: int) -> int:
    ready, _, _ = select.select([fd], [], [], BOUND_SECONDS)
    assert ready, "the command never reported its grandchild's pid"
    return int(os.read(fd, 64).decode().strip())


def ended(pidfd: int) -> bool:
    """Whether the process behind `pidfd` exits (a zombie counts: it has ended)."""
    ready, _, _ = select.select([pidfd], [], [], BOUND_SECONDS)
    return bool(ready)


@contextmanager
def watched(pid: int) -> Iterator[int]:
    """A pidfd for `pid` (no confusion with a reused pid); the process is
    killed afterwards should the test have failed with it still running."""
    pidfd = os.pidfd_open(pid)
    try:
        yield pidfd
    finally:
        with suppress(ProcessLookupError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        os.close(pidfd)


def stopped(rb: subprocess.Popen[str]) -> tuple[str, str]:
    """rb's output once it has exited (killed, and the test failed, if it hangs)."""
    try:
        return rb.communicate(timeout=BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        rb.kill()
        rb.communicate()
        pytest.fail("rb did not stop")


def write_runbook(tmp_path: Path, fifo: Path, timeout: str = "") -> None:
    text = RUNBOOK.replace("FIFO", str(fifo)).replace("TIMEOUT", timeout)
    (tmp_path / "rb.yaml").write_text(text)


@pytest.mark.parametrize(
    ("stop", "exit_code"),
    [(signal.SIGTERM, 130), (signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGTERM", "SIGINT", "SIGKILL"],
)
def test_ending_rb_ends_the_commands_grandchildren(
    tmp_path: Path, stop: signal.Signals, exit_code: int
) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    with grandchild_fifo(tmp_path) as (fifo, fd):
        write_runbook(tmp_path, fifo)
        with (
            subprocess.Popen(
                [sys.executable, "-m", "rb", "run", "rb.yaml", "--db", db],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ) as rb,
            watched(read_pid(fd)) as grandchild,
        ):
            rb.send_signal(stop)
            _, stderr = stopped(rb)
            assert ended(grandchild), "the command's child outlived rb"
    assert rb.returncode == exit_code, stderr
    if stop != signal.SIGKILL:
        assert "rb: interrupted" in stderr
    # The recording is intact: the run reads back as interrupted.
    listing = run_rb("runs", "list", "--db", db, "--format", "json", cwd=tmp_path)
    assert [r["status"] for r in json.loads(listing.stdout)] == ["interrupted"]
    shown = run_rb("runs", "show", "last", "--db", db, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr


def test_a_timed_out_commands_grandchildren_end_with_it(tmp_path: Path) -> None:
    with grandchild_fifo(tmp_path) as (fifo, fd):
        write_runbook(tmp_path, fifo, timeout="timeout_seconds: 1")
        with subprocess.Popen(
            [sys.executable, "-m", "rb", "run", "rb.yaml", "--no-record", "--format", "json"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as rb:
            with watched(read_pid(fd)) as grandchild:
                assert ended(grandchild), "the command's child outlived its step"
            stdout, stderr = stopped(rb)
    assert rb.returncode == 1, stderr
    (step,) = json.loads(stdout)["steps"]
    assert step["error"] == "timed out after 1s"
