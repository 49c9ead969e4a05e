"""The runbook's `notify:` block: targets and events (docs/notifications.md).

A notification is sent after the run, where nothing can be fixed any more, so
what would stop it is reported here: a `${...}` in a target other than a
secret reference (targets are not expressions: only secrets are filled in,
when sending), and a `waiting_too_long` event without its threshold (or a
threshold nobody listens to).
"""

from __future__ import annotations

import re

from rb.checks.context import CheckContext
from rb.policies import Notify

NOTIFY = "RB085"
# `${secrets.NAME}`: the one placeholder a target may hold.
SECRET_REFERENCE = re.compile(r"\$\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}?")


def check_notify(ctx: CheckContext) -> None:
    """Report the notify entries rb could not send as written."""
    for entry in ctx.runbook.notify:
        for i, target in enumerate(entry.to):
            offset = _other_placeholder(target)
            if offset is not None:
                ctx.report_in_string(
                    (*entry.path, "to", i),
                    offset,
                    NOTIFY,
                    "a notification target may hold only secret references like "
                    "${secrets.SLACK_WEBHOOK}; write the rest of the URL as it is",
                )
        _check_threshold(ctx, entry)


def _other_placeholder(target: str) -> int | None:
    """Where the first `${...}` that is not a secret reference starts, if any."""
    for found in _PLACEHOLDER.finditer(target):
        if not SECRET_REFERENCE.fullmatch(found.group()):
            return found.start()
    return None


def _check_threshold(ctx: CheckContext, entry: Notify) -> None:
    listens = "waiting_too_long" in entry.events
    if listens and entry.waiting_too_long_seconds is None:
        ctx.report(
            (*entry.path, "events"),
            NOTIFY,
            "waiting_too_long needs waiting_too_long_seconds in the same entry "
            "(how long a parked run may wait, e.g. 3600)",
            key=True,
        )
    elif not listens and entry.waiting_too_long_seconds is not None:
        ctx.report(
            (*entry.path, "waiting_too_long_seconds"),
            NOTIFY,
            "waiting_too_long_seconds is set but waiting_too_long is not among its events; "
            "add it to `events` or remove the threshold",
            key=True,
        )
