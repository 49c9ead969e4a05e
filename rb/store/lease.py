"""Who is running an execution, and whether that process is still alive.

A lease is `host|pid|start` where start is the process's start time (from
/proc), so a reused pid is not mistaken for the original process. Runs on
other hosts are judged by their heartbeat instead.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from functools import lru_cache

HEARTBEAT_SECONDS = 15.0
STALE_AFTER = timedelta(minutes=2)
# A `queued` row waiting for an `rb worker` is held by the procrastinate queue,
# not by a process: `queue|<queue name>`. It is never judged dead here; the
# queue's own stalled-job recovery answers for it (docs/scaling.md).
QUEUE_PREFIX = "queue|"


def held_by_queue(queue: str) -> str:
    """The lease of a row the queue `queue` holds until a worker starts it."""
    return QUEUE_PREFIX + queue


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            # The command name may contain spaces; fields resume after ')'.
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def current() -> str:
    """This process's lease."""
    return _lease_of(os.getpid())  # a forked child has a pid, so a lease, of its own


@lru_cache(maxsize=4)
def _lease_of(pid: int) -> str:
    # Read once: every recorded run asks, and /proc reads are not free.
    return f"{socket.gethostname()}|{pid}|{_start_time(pid)}"


def is_dead(lease: str | None, heartbeat: datetime | None, now: datetime) -> bool:
    """True when the process holding `lease` can no longer be running the execution."""
    if lease is not None and lease.startswith(QUEUE_PREFIX):
        return False  # the queue holds it (held_by_queue)
    host, _, rest = (lease or "").partition("|")
    pid_text, _, start = rest.partition("|")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, owned by someone else
        return bool(start) and _start_time(pid) != start
    return heartbeat is None or now - heartbeat > STALE_AFTER
