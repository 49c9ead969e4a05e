"""`rb serve --workers N`: N server processes sharing one listening socket.

One Python process serves at most one core (the interpreter lock); the
executions of a busy server, its HTTP and its recording then queue for it.
With `--workers N` the parent binds the socket and forks N children, each a
whole server (its own event loop, execution pool, store pool and writer
process) accepting on that socket: the kernel hands each new connection to
one of them. The parent only forwards SIGINT/SIGTERM, waits, and starts a
new child for one that dies unexpectedly.

Forking (not spawning) keeps the configuration, secrets and token in memory:
nothing of them passes through the environment or a pickle. The parent has
started no thread and opened no connection when it forks (`serve_forked`
checks the first).

What a process keeps for itself (docs/serve.md, "Several processes"): the
live event feeds (a stream asked of another process than the one running
the execution gets its record instead), the connection limit and
`--max-concurrent` (per process). Metrics are summed over the processes
(prometheus_client's multiprocess mode, `multiprocess_metrics`).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

log = logging.getLogger("rb.server")

# prometheus_client reads it when a metric is created: each process then
# keeps its values in files there, and a scrape sums them (rb.server.metrics).
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# A process that ends sooner than this after its start is not started again.
STEADY_SECONDS = 5.0


@contextmanager
def multiprocess_metrics() -> Iterator[str]:
    """A scratch folder for the processes' metric files, set for prometheus_client
    (before any metric exists) and removed after."""
    from prometheus_client import values

    folder = tempfile.mkdtemp(prefix="rb-serve-metrics-")
    os.environ[MULTIPROC_VARIABLE] = folder
    single = values.ValueClass
    # Chosen when prometheus_client was imported: again now.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    try:
        yield folder
    finally:
        values.ValueClass = single
        os.environ.pop(MULTIPROC_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket the processes share (IPv6 when `host` is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_forked(workers: int, sock: socket.socket, serve_one: Callable[[], None]) -> int:
    """Fork `workers` children running `serve_one` (which serves on `sock`) until
    SIGINT or SIGTERM, forwarded to them; the exit code: 0 when all stopped cleanly."""
    if threading.active_count() > 1:  # a thread would not survive the fork
        raise RuntimeError("rb serve --workers: a thread started before the processes")
    children: dict[int, tuple[int, float]] = {}  # pid -> its number, when it started
    stopping = False

    def start(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child: a server of its own, with uvicorn's signal handling
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                serve_one()
                code = 0
            except BaseException:
                log.exception("server process %d failed", number)
            finally:
                os._exit(code)
        children[pid] = (number, time.monotonic())

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with suppress(ProcessLookupError):
                os.kill(pid, signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for number in range(workers):
            start(number)
        log.info("%d server processes share the socket (pids %s)", workers, sorted(children))
        failed = False
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - retried by Python (PEP 475)
                continue
            child = children.pop(pid, None)
            if child is None:
                continue  # not a server process
            _forget(pid)
            number, started = child
            code = os.waitstatus_to_exitcode(status)
            clean = code in (0, -signal.SIGINT, -signal.SIGTERM)
            if not stopping and time.monotonic() - started >= STEADY_SECONDS:
                log.warning(
                    "server process %d (pid %d) ended (%s); starting another", number, pid, code
                )
                start(number)
            elif not stopping:  # it could not even start: the others would not either
                log.error("server process %d ended at its start (%s); stopping", number, code)
                failed = True
                stop(signal.SIGTERM, None)
            elif not clean:
                failed = True
        return 1 if failed else 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()


def _forget(pid: int) -> None:
    """Drop a dead process's share of the live gauges (executions in progress)."""
    if os.environ.get(MULTIPROC_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
