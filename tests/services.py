"""Real services for live tests, and running runbooks in a LiveWorld.

A missing service skips its tests, unless RB_REQUIRE_<SERVICE>=1 asks for it:
then the test fails instead (CI sets these where the services run).
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# Pushgateway -----------------------------------------------------------------
@dataclass
class Pushgateway:
    url: str

    def metrics(self) -> str:
        """The gateway's /metrics page (text exposition format)."""
        response = httpx.get(f"{self.url}/metrics", timeout=10)
        response.raise_for_status()
        return response.text


READY_LINES = 200  # log lines read before giving up on "Listening on"
READY_WAIT = 30.0  # seconds to wait for any one log line
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
    process = subprocess.Popen(
        [binary, f"--web.listen-address={address}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    log: list[str] = []

    def drain() -> None:  # keeps reading so the pipe never fills up
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=drain, name="rb-test-pushgateway-log", daemon=True)
    reader.start()
    try:
        _wait_until_listening(lines, log, address)
        _wait_until_ready(f"http://{address}", log)
        yield Pushgateway(f"http://{address}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join()
        assert process.stderr is not None
        process.stderr.close()


def _wait_until_listening(lines: queue.Queue[str | None], log: list[str], address: str) -> None:
    for _ in range(READY_LINES):
        try:
            line = lines.get(timeout=READY_WAIT)
        except queue.Empty:
            break
        if line is None:  # the process ended (e.g. the port was taken)
            break
        log.append(line)
        if "Listening on" in line and address in line:
            return
    pytest.fail("the Pushgateway did not start listening:\n" + "".join(log))


def _wait_until_ready(url: str, log: list[str]) -> None:
    for _ in range(READY_TRIES):
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            continue
    pytest.fail("the Pushgateway never answered GET /-/ready:\n" + "".join(log))
