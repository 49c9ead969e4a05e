"""Real `rb worker` processes on a fresh PostgreSQL schema, for tests/test_worker.py.

A test writes runbooks into a project folder, starts workers on it
(`WorkerPool.start`, which waits for "started as worker"), queues executions
in-process (`queue`, as `rb run --queue` does) and waits for what it expects
in the store (`wait_status`) or a worker's log (`LoggedProcess.wait_for_line`).
Every worker is stopped with SIGTERM when the test ends, and killed if it
does not stop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rb.service.enqueue import enqueue, queue_run
from rb.service.request import Recording, RunRequest
from rb.service.runbooks import require_valid
from rb.service.runner import live_world
from rb.store.database import Store
from rb.store.keys import status_of
from rb.store.queries import get_run
from rb.store.records import Execution

from .servers import closed_port
from .services import LoggedProcess

if TYPE_CHECKING:
    import procrastinate

START_WAIT = 60.0  # seconds for a worker to say "started as worker"
RUN_WAIT = 60.0  # seconds for an execution to reach what a test waits for
HEARTBEAT = "0.5"  # short, so a killed worker is found silent soon...
STALLED_AFTER = "2"  # ...and its executions are taken over after 2 s
POLL = 0.05  # between two looks at the store while waiting for a condition


def write_runbook(project: Path, name: str, text: str) -> str:
    """Write `text` to <project>/runbooks/<name>.yaml; its path relative to the project."""
    relative = f"runbooks/{name}.yaml"
    path = project / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return relative


def queue(
    url: str,
    project: Path,
    relative: str,
    *,
    params: Mapping[str, Any] | None = None,
    actor: str = "tester",
    app: procrastinate.App | None = None,
    store: Store | None = None,
) -> str:
    """Queue the runbook at `relative` in `project` as `rb run --queue` does; its execution id.

    With an open `app` (and the `store`), many are queued without a connection each."""
    from rb.loader import load_file

    book = require_valid(load_file(project / relative))
    request = RunRequest(
        book,
        live_world(secrets={}, facts={}),
        params=dict(params or {}),
        recording=Recording(db=url, store=store),
        actor=actor,
    )
    if app is not None:
        return enqueue(app, request, runbook_path=relative).execution_id
    return queue_run(request, runbook_path=relative).execution_id


def wait_until(what: str, condition: Callable[[], bool], timeout: float = RUN_WAIT) -> None:
    """Wait until `condition()` holds (looked at every POLL s); fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(POLL)


def wait_status(
    store: Store, execution_id: str, *statuses: str, timeout: float = RUN_WAIT
) -> Execution:
    """Wait until the execution's status is one of `statuses`; the execution then."""
    seen: list[str | None] = []

    def reached() -> bool:
        status = status_of(store, execution_id)
        if not seen or seen[-1] != status:
            seen.append(status)
        return status in statuses

    deadline = time.monotonic() + timeout
    while not reached():
        if time.monotonic() > deadline:
            pytest.fail(
                f"execution {execution_id} never became {' or '.join(statuses)} "
                f"within {timeout:g}s; it went {' -> '.join(map(str, seen))}"
            )
        time.sleep(POLL)
    run = get_run(store, execution_id, with_exchanges=False)
    assert run is not None
    return run


class WorkerPool:
    """The `rb worker` processes of one test, all stopped when it ends."""

    def __init__(self, url: str, project: Path) -> None:
        self.url = url
        self.project = project
        self.workers: list[LoggedProcess] = []

    def start(
        self,
        name: str,
        *,
        concurrency: int = 1,
        grace: float = 5.0,
        project: Path | None = None,
        url: str | None = None,
        extra: Sequence[str] = (),
    ) -> LoggedProcess:
        """`rb worker --name NAME ...` on the pool's store and project; returns once it
        has logged "started as worker"."""
        argv = [
            sys.executable,
            "-m",
            "rb",
            "worker",
            "--name",
            name,
            "--project",
            str(project or self.project),
            "--db",
            url or self.url,
            "--concurrency",
            str(concurrency),
            "--heartbeat",
            HEARTBEAT,
            "--stalled-after",
            STALLED_AFTER,
            "--grace",
            f"{grace:g}",
            "--no-schedules",
            *extra,
        ]
        worker = LoggedProcess(argv, name=f"rb worker {name}")
        self.workers.append(worker)
        worker.wait_for_line("started as worker", timeout=START_WAIT)
        return worker

    def stop_all(self) -> None:
        """SIGTERM each worker still running (killed if it does not stop)."""
        for worker in self.workers:
            worker.stop(signal.SIGTERM, timeout=20)


@contextlib.contextmanager
def worker_pool(url: str, project: Path) -> Iterator[WorkerPool]:
    """A WorkerPool whose workers are stopped when the block ends, however it ends."""
    pool = WorkerPool(url, project)
    try:
        yield pool
    finally:
        pool.stop_all()


def saw(worker: LoggedProcess, text: str, timeout: float = RUN_WAIT) -> str:
    """The worker's log line containing `text`: one already read (a line may come
    before the one a test waited for first), else the next one, within `timeout` s."""
    for line in worker.log:
        if text in line:
            return line
    return worker.wait_for_line(text, timeout=timeout)


def request_count(server: Any, path: str, **query: str) -> int:
    """How many requests the test server saw for `path` (with these query values)."""
    return sum(
        1
        for r in server.requests
        if r.path == path and all(r.query.get(k) == v for k, v in query.items())
    )


# A PostgreSQL cluster of the test's own (to stop and start) ----------------------
class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder, run as the `postgres` user."""

    def __init__(self, bin_dir: Path, folder: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.folder / "postgres.log"),
                "-w",  # returns once the server accepts connections (or has stopped)
                *args,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            log = (self.folder / "postgres.log").read_text(errors="replace")
            pytest.fail(f"pg_ctl {' '.join(args)} failed: {done.stderr}\n{log}")

    def start(self) -> None:
        """Start the server; returns once it accepts connections."""
        self._pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: its sessions are ended); returns once it has stopped."""
        self._pg_ctl("stop", "-m", mode)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivateCluster]:
    """A fresh cluster (trust authentication) on a free port, removed afterwards.

    It needs root (to run initdb as `postgres`) and PostgreSQL's server
    programs; without them the test skips, or fails under RB_REQUIRE_POSTGRES=1.
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    why = None
    if os.geteuid() != 0:
        why = "a private PostgreSQL cluster needs root (to run initdb as the postgres user)"
    elif not found or shutil.which("runuser") is None:
        why = "initdb is missing (apt-get install postgresql) or runuser is"
    if why is not None:
        if os.environ.get("RB_REQUIRE_POSTGRES") == "1":
            pytest.fail(why)
        pytest.skip(f"{why} (set RB_REQUIRE_POSTGRES=1 to fail instead)")
    bin_dir = found[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="rb-pg-"))  # under /tmp: postgres can reach it
    shutil.chown(folder, "postgres", "postgres")
    cluster = PrivateCluster(bin_dir, folder, closed_port())
    try:
        made = subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(bin_dir / "initdb"),
                "-D",
                str(cluster.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert made.returncode == 0, f"initdb failed: {made.stdout}{made.stderr}"
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
