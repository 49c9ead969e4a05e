"""Warnings for notifications that could not be delivered (the run's result stands)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from rb.wording import plural

if TYPE_CHECKING:
    from rb.store.notifications import NotificationRow


def warn_undelivered(rows: Iterable[NotificationRow], err: TextIO | None = None) -> None:
    """One `warning:` line on stderr per notification that failed (targets as written)."""
    err = err or sys.stderr
    for n in rows:
        if n.status == "failed":
            err.write(
                f"warning: the {n.event} notification to {n.channel} was not delivered "
                f"({plural(n.attempts, 'attempt')}): {n.error}\n"
            )
