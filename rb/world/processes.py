"""Commands that end with rb: each in its own process group, watched by a warden.

A shell step's command may start processes of its own (`sh -c 'sleep 30 &
wait'`). Ending only the command would orphan them, so every command runs in a
new session (its own process group, and no controlling terminal: a command
that asks for a password fails instead of stopping rb), and the whole group is
ended:

- when its step is cancelled (a timeout, Ctrl-C, SIGTERM): SIGTERM to the
  group, then SIGKILL after `GRACE_SECONDS` for whatever is left;
- when rb itself dies, even by SIGKILL: a small warden process holds the
  other end of a pipe from rb and kills every group still registered when the
  pipe closes. The command itself also has the parent-death signal set
  (Linux), which covers the moment between its start and its registration.

A process a command leaves running after it has exited normally is not
stopped: that is a daemon the command meant to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

GRACE_SECONDS = 5.0

# The warden: registers `+pgid` / forgets `-pgid` lines; on end of input (rb
# exited or died) kills the groups left. It ignores the signals a terminal or
# a service manager sends to rb's group, so it outlives rb; it runs in a
# session of its own for the same reason. No imports beyond os/signal/sys:
# it starts in a few milliseconds with -I -S.
_WARDEN = """\
import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    sign, pgid = line[:1], int(line[1:])
    (groups.add if sign == "+" else groups.discard)(pgid)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


class Warden:
    """Kills the process groups of running commands if rb dies; one per live world.

    Started on first use. Safe to use from several threads (the server runs
    executions in a pool).
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.running: set[Command] = set()  # started, not yet ended

    def start(self) -> None:
        """Start the warden if it is not running."""
        with self._lock:
            if self._process is None:
                self._process = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _WARDEN],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    bufsize=0,
                )

    def fileno(self) -> int:
        """The pipe to the warden (started if need be), for a child to register itself."""
        self.start()
        assert self._process is not None and self._process.stdin is not None
        return self._process.stdin.fileno()

    def forget(self, pgid: int) -> None:
        """Group `pgid` has been dealt with."""
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        self.start()
        with self._lock:
            assert self._process is not None and self._process.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # warden gone: nothing to tell
                os.write(self._process.stdin.fileno(), line.encode())

    async def aclose(self) -> None:
        """End the commands still running, then let the warden go.

        A cancelled run closes its world before its steps have seen the
        cancellation: their commands get the same SIGTERM-then-SIGKILL here.
        """
        await asyncio.gather(*(command.end() for command in list(self.running)))
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()  # the warden kills what is left, then exits
            process.wait()


class Command:
    """A started command: its process, and its output once it has exited.

    The process is started synchronously, so nothing can cancel the run
    between its start and its registration with the warden. Its output is
    collected in a thread of its own (asyncio's subprocess support, cancelled
    while starting, would kill the command alone and wait on pipes its
    children still hold).
    """

    def __init__(
        self,
        warden: Warden,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | None,
        stdin: bytes,
    ) -> None:
        warden.start()
        self._warden = warden
        self.process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # its own group: pgid == pid
            preexec_fn=_in_child(warden.fileno()),
        )
        # Registered by the child itself (`_in_child`), before its command
        # could start processes of its own.
        warden.running.add(self)
        loop = asyncio.get_running_loop()
        self._done: asyncio.Future[tuple[bytes, bytes]] = loop.create_future()
        threading.Thread(
            target=self._communicate, args=(loop, stdin), name="rb-command", daemon=True
        ).start()

    def _communicate(self, loop: asyncio.AbstractEventLoop, stdin: bytes) -> None:
        try:
            output = self.process.communicate(stdin)
        except BaseException as exc:  # reported to the waiting step
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(_settle, self._done, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, self._done, output, None)

    async def output(self) -> tuple[bytes, bytes]:
        """stdout and stderr, once the command has exited and closed them."""
        return await asyncio.shield(self._done)

    async def end(self) -> None:
        """End the command's group if the command has not finished; then forget it.

        SIGTERM first so the command can clean up; SIGKILL after GRACE_SECONDS
        for whatever is left. Cancelled while doing so (a second Ctrl-C), the
        group stays registered: the warden kills it when rb exits.
        """
        pgid = self.process.pid
        if not self._done.done():
            for sig in (signal.SIGTERM, signal.SIGKILL):
                _signal_group(pgid, sig)
                # The output is complete once every process holding its
                # pipes has gone: the whole group, not just the command.
                await asyncio.wait([self._done], timeout=GRACE_SECONDS)
                if self._done.done():
                    break
        if self in self._warden.running:
            self._warden.running.discard(self)
            self._warden.forget(pgid)


def _settle(
    future: asyncio.Future[tuple[bytes, bytes]],
    output: tuple[bytes, bytes] | None,
    exc: BaseException | None,
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        assert output is not None
        future.set_result(output)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # group already gone
        os.killpg(pgid, sig)


_PR_SET_PDEATHSIG = 1


@lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up once in rb (not in the forked child); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _in_child(warden: int) -> Callable[[], None]:
    """A preexec function: the child registers its group with the warden, then
    asks for SIGKILL when rb's spawning thread dies.

    Registering in the child, after it has become a group leader and before
    its command runs, leaves no moment in which a process the command starts
    could outlive a killed rb unregistered (a short write to a pipe is atomic).
    Linux sends the parent-death signal when the *thread* that forked exits:
    commands are spawned from the thread running the event loop, which lives
    as long as the run (the main thread for `rb run`, a pool thread of
    `rb serve`'s), and the run waits for every command it starts.
    """
    prctl = _prctl()
    parent = os.getpid()

    def in_child() -> None:
        with contextlib.suppress(OSError):  # warden gone: nothing to tell
            os.write(warden, b"+%d\n" % os.getpid())
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:  # rb died before the call: too late for the signal
                os.kill(os.getpid(), signal.SIGKILL)

    return in_child
