"""The writer process: inserts recorded rows, off the recording process's lock.

This file is the program of that process (run as a script by `spawn`, one per
store per recording process, see rb/store/writer.py) and the few helpers the
recording process needs to start it and talk to it. It reads frames from
stdin and answers on stdout; each
frame is a 4-byte little-endian length and a `marshal`led tuple. Parent to
child:

- ("init", driver, target, setup, tables, beat, every, retry): connect (driver
  "sqlite" with a file path, or "postgresql" with a libpq URL), run the `setup`
  statements, and learn each table's INSERT (and COPY) statement and the
  heartbeat UPDATE, made every `every` seconds; a PostgreSQL connection that
  is lost is made again for up to `retry` seconds before a write fails;
- ("open", token, execution_id) / ("close", token): a run begins or ends;
- ("rows", token, table, rows): insert driver-ready rows, in one transaction;
- ("sync", token, seq): answer ("ok", token, seq) once everything before it
  is committed, or ("error", token, message, last) if the run's rows failed,
  `last` being the newest seq whose rows were all committed (0: none); while
  more frames are waiting the answer waits too, and covers later syncs.

It answers ("ready",) after connecting, or ("fatal", message) and exits. While
no frame comes it refreshes the heartbeat of the open runs. It exits at the
end of its input: when the recording process dies, even by SIGKILL, whatever
it had sent is still committed.

Only the standard library and the database driver are imported here: the
process starts while rb loads, so a recording command starts one early
(`prestart`) and the run finds it ready.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import struct
import sys
import time
from datetime import UTC, datetime
from typing import Any

_HEADER = struct.Struct("<I")
_MOST_HELD = 64  # frames an answer may wait behind, so a busy input cannot starve it


_prestarted: list[Any] = []


def spawn() -> Any:
    """Start a writer process; it waits for its init frame."""
    import subprocess

    # -S -P: no site processing (a third of the start-up) and neither this
    # file's folder nor the current one on the path; this process's own path
    # instead, so the database driver is found where rb found it.
    path = os.pathsep.join(entry for entry in sys.path if entry)
    return subprocess.Popen(
        [sys.executable, "-S", "-P", __file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
        env={**os.environ, "PYTHONPATH": path},
    )


def prestart() -> None:
    """Start a writer process now, for a recording about to begin."""
    if not _prestarted:
        with contextlib.suppress(OSError):  # `started` tries again and reports it
            _prestarted.append(spawn())


def started() -> Any:
    """The process `prestart` started, or a new one (OSError if it cannot start)."""
    return _prestarted.pop() if _prestarted else spawn()


def read_frame(fd: int) -> Any:
    """The next frame on `fd`, or None at the end of the input."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    body = _read_exactly(fd, size)
    if body is None:
        return None
    return marshal.loads(body)


def frame(value: Any) -> bytes:
    """`value` as one frame."""
    body = marshal.dumps(value)
    return _HEADER.pack(len(body)) + body


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class _Database:
    def __init__(self, driver: str, target: str, setup: list[str], retry: float = 0.0) -> None:
        self.driver = driver
        self.target = target
        self.setup = setup
        self.retry = retry
        self.conn: Any = None
        self._connect()

    def _connect(self) -> None:
        if self.driver == "sqlite":
            import sqlite3

            self.conn = sqlite3.connect(self.target, isolation_level=None)
        else:
            import psycopg

            # Named after this process, so its session can be told apart.
            name = f"rb-writer-{os.getpid()}"
            self.conn = psycopg.connect(self.target, autocommit=True, application_name=name)
        for statement in self.setup:
            self.conn.execute(statement)

    def lost(self) -> bool:
        """Whether the connection is gone (a PostgreSQL restart, a killed session)."""
        return self.driver != "sqlite" and bool(self.conn.closed or self.conn.broken)

    def retrying(self, write: Any, *args: Any) -> None:
        """`write(*args)`; a lost connection is made again, for up to `retry` seconds.

        A write whose connection broke was rolled back, so it is made again whole.
        """
        deadline = time.monotonic() + self.retry
        delay = 0.05
        while True:
            try:
                write(*args)
                return
            except Exception:
                if not self.lost() or time.monotonic() >= deadline:
                    raise
            while True:
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 1.0)
                try:
                    self._connect()
                    break
                except Exception:
                    if time.monotonic() >= deadline:
                        raise

    def insert(self, table: tuple[str, str | None], rows: list[Any]) -> None:
        insert, copy = table
        if copy is not None and len(rows) > 1:
            with self.conn.cursor() as cursor, cursor.copy(copy) as out:
                for row in rows:
                    out.write_row(row)
            return
        if self.driver == "sqlite":
            self.conn.execute("BEGIN")
            try:
                self.conn.executemany(insert, rows)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.executemany(insert, rows)

    def beat(self, statement: str, execution_ids: list[str]) -> None:
        now = datetime.now(UTC)
        if self.driver == "sqlite":
            now_text = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores it
            for execution_id in execution_ids:
                self.conn.execute(statement, (now_text, execution_id))
        else:
            for execution_id in execution_ids:
                self.conn.execute(statement, (now, execution_id))


def main() -> int:
    """Serve frames from stdin until it ends."""
    out = sys.stdout.buffer
    first = read_frame(0)
    if first is None:
        return 0
    _, driver, target, setup, tables, beat, every, retry = first
    try:
        database = _Database(driver, target, setup, retry)
    except Exception as exc:
        out.write(frame(("fatal", _message(exc))))
        out.flush()
        return 1
    out.write(frame(("ready",)))
    out.flush()
    open_runs: dict[Any, str] = {}
    failed: dict[Any, tuple[str, int]] = {}  # why, and the last seq all committed
    synced: dict[Any, int] = {}  # each run's last seq whose rows were committed
    # Answers to syncs wait while more frames are already there: one answer
    # then covers a burst (an answer acknowledges everything up to its seq),
    # and the recording process wakes once for it, not once per event.
    answers: dict[Any, tuple[Any, ...]] = {}
    held = 0
    while True:
        waiting, _, _ = select.select([0], [], [], 0 if answers else every)
        if not waiting or held >= _MOST_HELD:
            if answers:
                for answer in answers.values():
                    out.write(frame(answer))
                out.flush()
                answers.clear()
                held = 0
                continue
            if open_runs:
                # A failure here is not reported: the next write reports a real problem.
                with contextlib.suppress(Exception):
                    database.retrying(database.beat, beat, list(open_runs.values()))
            continue
        message = read_frame(0)
        if message is None:
            return 0
        kind, token = message[0], message[1]
        held += bool(answers)
        if kind == "rows":
            if token not in failed:
                try:
                    database.retrying(database.insert, tables[message[2]], message[3])
                except Exception as exc:
                    failed[token] = (_message(exc), synced.get(token, 0))
        elif kind == "sync":
            error = failed.get(token)
            if error is None:
                synced[token] = message[2]
                answers[token] = ("ok", token, message[2])
            else:
                answers[token] = ("error", token, *error)
        elif kind == "open":
            open_runs[token] = message[2]
        elif kind == "close":
            open_runs.pop(token, None)
            failed.pop(token, None)
            synced.pop(token, None)


def _message(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


if __name__ == "__main__":
    sys.exit(main())
