"""The deadline sweep of `rb serve`: parked runs past their wait's deadline are resumed.

Every `sweep_interval` seconds (`rb serve --sweep-interval`, 0: off) the
server does what `rb resume --due` does from cron (rb.service.due.resume_due).
It runs in a thread of its own, never on the request path; a store that is
down only makes a sweep log a warning, and the next one tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from rb.server.state import Server

log = logging.getLogger("rb.server.sweep")
SWEEP_ACTOR = "rb-serve"


def sweep_once(server: Server) -> int:
    """Resume the runs whose deadline has passed; how many were resumed."""
    from rb.service.due import resume_due

    store = server.store.ready()
    done = resume_due(store, actor=SWEEP_ACTOR, secrets=server.config.secrets)
    for d in done:
        log.info(
            "deadline passed: run %s (%s) resumed -> %s%s",
            d.execution_id[:8],
            ", ".join(d.step_ids),
            d.status,
            f": {d.error}" if d.error else "",
        )
    return len(done)


@contextlib.asynccontextmanager
async def sweeping(server: Server) -> AsyncIterator[None]:
    """Sweep in the background while the server runs (not at all when the interval is 0)."""
    interval = server.config.sweep_interval
    if interval <= 0:
        yield
        return
    loop = asyncio.get_running_loop()

    async def loop_forever() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                # A thread: resumed runs' steps must not hold up requests.
                await loop.run_in_executor(None, sweep_once, server)
            except Exception as exc:  # the next sweep tries again
                log.warning("deadline sweep failed: %s", exc)

    task = asyncio.create_task(loop_forever(), name="rb-deadline-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
