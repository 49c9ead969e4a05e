"""Real services for live tests, and running runbooks in a LiveWorld.

A missing service skips its tests, unless RB_REQUIRE_<SERVICE>=1 asks for it:
then the test fails instead (CI sets these where the services run).
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx
import pytest

from rb.engine.events import EventBus
from rb.engine.outcome import ExecutionResult
from rb.engine.scheduler import execute
from rb.loader import load_file
from rb.model import Runbook
from rb.plugins import step_types
from rb.world.live import LiveWorld

from .engine_helpers import Recorder, runbook
from .servers import closed_port

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PUSHGATEWAY_BINARY = "/usr/bin/prometheus-pushgateway"


def required(name: str) -> bool:
    """True when RB_REQUIRE_<name>=1: a missing service fails instead of skipping."""
    return os.environ.get(f"RB_REQUIRE_{name}") == "1"


# Running runbooks ------------------------------------------------------------
def load(text: str, directory: Path | None = None) -> Runbook:
    """A valid runbook from text; with `directory`, loaded from a file written there
    so that relative files (GraphQL documents, schemas, cwd) resolve beside it."""
    book = runbook(text)  # asserts it loads and validates without errors
    if directory is None:
        return book
    path = directory / "runbook.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path)
    assert loaded.runbook is not None, loaded.diagnostics
    return loaded.runbook


def live_env(**extra: str) -> dict[str, str]:
    """A small environment: PATH (to find programs) plus `extra`."""
    return {"PATH": os.environ.get("PATH", os.defpath), **extra}


def run_live(
    text: str,
    *,
    directory: Path | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[ExecutionResult, Recorder]:
    """Run a runbook text for real; returns the result and every event."""
    book = load(text, directory)
    world = LiveWorld(env=live_env() if env is None else env, secrets=secrets or {})
    recorder = Recorder()

    async def main() -> ExecutionResult:
        try:
            return await execute(
                book,
                world,
                params=dict(params or {}),
                step_types=step_types(),
                bus=EventBus([recorder]),
            )
        finally:
            await world.aclose()

    return world.run(main), recorder


# PostgreSQL ------------------------------------------------------------------
def postgres_url() -> str:
    """The test database's URL; skips (or fails under RB_REQUIRE_POSTGRES=1) if down."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        why = f"PostgreSQL is not reachable at {POSTGRES_URL}: {str(exc).strip()}"
        if required("POSTGRES"):
            pytest.fail(why)
        pytest.skip(f"{why} (set RB_REQUIRE_POSTGRES=1 to fail instead)")
    return POSTGRES_URL


@contextlib.contextmanager
def postgres_schema(url: str, prefix: str = "rb_store") -> Iterator[str]:
    """A store URL on a fresh schema of the test database, dropped afterwards."""
    import sqlalchemy

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@contextlib.contextmanager
def postgres_table(url: str) -> Iterator[str]:
    """A unique table name, dropped afterwards whatever the test created."""
    import psycopg

    name = f"rb_live_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {name}")


# Processes with a log ----------------------------------------------------------
class LoggedProcess:
    """A subprocess whose log (its stderr; with `merge_stdout`, its stdout and
    stderr together) a daemon thread reads line by line into a queue, so the pipe
    never fills up, and the test can wait for a line without sleeping.

    Lines the test has waited through are in `log`; `stop` adds the rest. Failure
    messages (`fail`) end with the log so far.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        merge_stdout: bool = False,
    ) -> None:
        self.name = name  # as failure messages start: "rb serve", "the Pushgateway"
        self.log: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = False  # the log has ended (the process closed it, or exited)
        self.process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if merge_stdout else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if merge_stdout else subprocess.PIPE,
            text=True,
        )
        stream = self.process.stdout if merge_stdout else self.process.stderr
        assert stream is not None
        self._stream = stream
        self._reader = threading.Thread(
            target=self._drain, name=f"rb-test-{name.replace(' ', '-')}-log", daemon=True
        )
        self._reader.start()

    def _drain(self) -> None:  # keeps reading so the pipe never fills up
        for line in self._stream:
            self._lines.put(line)
        self._lines.put(None)

    @property
    def returncode(self) -> int | None:
        """The exit code once it has ended (after `stop`: always)."""
        return self.process.returncode

    @property
    def output(self) -> str:
        """The log so far, as one text."""
        return "".join(self.log)

    def wait_for_line(self, *texts: str, timeout: float, failure: str | None = None) -> str:
        """The first new log line that contains every one of `texts`; fails (with
        `failure`, or "NAME never logged TEXT") if the log ends or `timeout` seconds
        pass first."""
        deadline = time.monotonic() + timeout
        while not self._ended:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:  # the process ended (e.g. its port was taken)
                self._ended = True
                break
            self.log.append(line)
            if all(text in line for text in texts):
                return line
        self.fail(failure or f"{self.name} never logged {' and '.join(map(repr, texts))}")

    def wait_for_http(self, url: str, *, tries: int, timeout: float) -> None:
        """GET `url` until it answers 200, at most `tries` times (each waiting up to
        `timeout` s); never sleeps, so call it once the log says the port is open."""
        for _ in range(tries):
            try:
                if httpx.get(url, timeout=timeout).status_code == 200:
                    return
            except httpx.TransportError:
                continue
        self.fail(f"{self.name} never answered GET {urlsplit(url).path}")

    def fail(self, message: str) -> NoReturn:
        """Fail the test with `message`, the exit code if it has ended, and the log."""
        self._take_queued()
        code = self.process.poll()
        ended = "" if code is None else f" (it exited with {code})"
        pytest.fail(f"{message}{ended}:\n{self.output}")

    def stop(self, stop_signal: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send `stop_signal`, wait up to `timeout` seconds (then kill it), read the
        rest of its log and close the pipe; its exit code (negative if killed)."""
        if self.process.poll() is None:
            self.process.send_signal(stop_signal)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join()
        self._stream.close()
        self._take_queued()
        return code

    def _take_queued(self) -> None:
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                self._ended = True
            else:
                self.log.append(line)


@contextlib.contextmanager
def running_process(
    argv: Sequence[str],
    *,
    name: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    merge_stdout: bool = False,
    stop_signal: signal.Signals = signal.SIGTERM,
    stop_timeout: float = 10.0,
) -> Iterator[LoggedProcess]:
    """Start `argv` as a `LoggedProcess`, and stop it when the block ends, however
    it ends (`LoggedProcess.stop` with `stop_signal` and `stop_timeout`).

    The caller waits for what "ready" means (`wait_for_line`, `wait_for_http`)
    inside the block; after it, `process.returncode` and `output` are final.
    """
    process = LoggedProcess(argv, name=name, env=env, cwd=cwd, merge_stdout=merge_stdout)
    try:
        yield process
    finally:
        process.stop(stop_signal, stop_timeout)


# Pushgateway -----------------------------------------------------------------
@dataclass
class Pushgateway:
    url: str

    def metrics(self) -> str:
        """The gateway's /metrics page (text exposition format)."""
        response = httpx.get(f"{self.url}/metrics", timeout=10)
        response.raise_for_status()
        return response.text


READY_WAIT = 30.0  # seconds to wait for "Listening on"
READY_TRIES = 50  # GET /-/ready attempts once it says it listens


@contextlib.contextmanager
def pushgateway() -> Iterator[Pushgateway]:
    """A real Pushgateway on a free 127.0.0.1 port, stopped afterwards."""
    binary = shutil.which(PUSHGATEWAY_BINARY) or shutil.which("prometheus-pushgateway")
    if binary is None:
        why = f"{PUSHGATEWAY_BINARY} is missing (apt-get install prometheus-pushgateway)"
        if required("PUSHGATEWAY"):
            pytest.fail(why)
        pytest.skip(f"{why} (set RB_REQUIRE_PUSHGATEWAY=1 to fail instead)")
    address = f"127.0.0.1:{closed_port()}"
    url = f"http://{address}"
    argv = [binary, f"--web.listen-address={address}"]
    with running_process(argv, name="the Pushgateway", stop_timeout=10) as gateway:
        gateway.wait_for_line(
            "Listening on",
            address,
            timeout=READY_WAIT,
            failure="the Pushgateway did not start listening",
        )
        gateway.wait_for_http(f"{url}/-/ready", tries=READY_TRIES, timeout=1)
        yield Pushgateway(url)


# `rb serve` in a subprocess ----------------------------------------------------
SERVE_WAIT = 60.0  # seconds to wait for "Uvicorn running on"
LIVE_TRIES = 50  # GET /health/live attempts once it says it runs


# RB_API_TOKEN of the `rb serve` processes tests start (identity api-token, role admin).
SERVE_TOKEN = "serve-token-7d3c0b9a1e5f4a2b8c6d0e9f1a3b5c7d"
SERVE_BEARER = {"Authorization": f"Bearer {SERVE_TOKEN}"}


@dataclass
class RbServe:
    """A running `rb serve` process and its base URL; clients send `headers`."""

    url: str
    process: LoggedProcess
    headers: Mapping[str, str]


@contextlib.contextmanager
def rb_serve_process(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
    stop_timeout: float = 10.0,
) -> Iterator[RbServe]:
    """`python -m rb serve --port PORT ARGS` in `cwd` as users run it, on a free
    127.0.0.1 port, with `env` over this process's environment (RB_API_TOKEN is
    SERVE_TOKEN unless `env` sets it; "" for none); yields once it
    logs "Uvicorn running on" and answers GET /health/live, and stops it with
    `stop_signal` after (killed if still running `stop_timeout` s later).

    Its log holds stdout and stderr together (uvicorn's access log goes to stdout).
    """
    port = closed_port()
    argv = [sys.executable, "-m", "rb", "serve", "--port", str(port), *args]
    with running_process(
        argv,
        name="rb serve",
        env={**os.environ, "RB_API_TOKEN": SERVE_TOKEN, **(env or {})},
        cwd=cwd,
        merge_stdout=True,
        stop_signal=stop_signal,
        stop_timeout=stop_timeout,
    ) as process:
        url = f"http://127.0.0.1:{port}"
        process.wait_for_line("Uvicorn running on", timeout=SERVE_WAIT)
        process.wait_for_http(f"{url}/health/live", tries=LIVE_TRIES, timeout=5)
        token = (env or {}).get("RB_API_TOKEN", SERVE_TOKEN)
        yield RbServe(url, process, {"Authorization": f"Bearer {token}"} if token else {})
