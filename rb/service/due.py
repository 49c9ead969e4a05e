"""Parked runs past their deadline: resumed so that their waiting steps time out.

An approval or wait_event step that parks a run records its deadline in the
run's `waiting_for`; nothing runs while it waits, so something must look:
`rb resume --due` from cron, or `rb serve`'s sweep (rb/server/sweep.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rb.engine.events import Listener
from rb.errors import UsageError
from rb.service.durable import live_world_at, resume

if TYPE_CHECKING:
    from rb.store.database import Store


@dataclass(frozen=True)
class DueResumed:
    """A parked run whose wait's deadline had passed, and what resuming it did."""

    execution_id: str
    step_ids: tuple[str, ...]  # the steps whose deadline passed
    status: str  # the run's status after the resume (or `waiting` when it was not taken)
    error: str = ""  # why the run ended so, or why it was not resumed


def resume_due(
    store: Store,
    *,
    now: datetime | None = None,
    actor: str = "rb",
    listeners: Sequence[Listener] = (),
    secrets: Mapping[str, str] | None = None,
) -> list[DueResumed]:
    """Resume every parked live run a wait of which (approval, wait_event) is past its deadline.

    The waiting step, run again, finds its deadline passed and ends as its
    `on_timeout` says; the run goes on (or stops) by the steps' on_failure.
    `now` stands for the clock, for the sweep and for the resumed runs alike;
    `secrets` are what the resumed runs may read (default: the environment's).
    A run another process took first is reported, not an error.
    """
    from rb.store.inbox import waiting_runs

    moment = now or datetime.now(UTC)
    _notify_waiting(store, moment, secrets)
    done: list[DueResumed] = []
    for parked in waiting_runs(store):
        late = tuple(
            str(w.get("step_id"))
            for w in parked.waiting_for
            if w.get("deadline") and datetime.fromisoformat(str(w["deadline"])) <= moment
        )
        if not late:
            continue
        from rb.service.enqueue import continue_on_queue

        if continue_on_queue(store, parked.execution_id) is not None:
            # A worker resumes it: its waiting step finds the deadline passed.
            done.append(DueResumed(parked.execution_id, late, "queued"))
            continue
        try:
            world = live_world_at(store, parked.execution_id, now, secrets)
            ran = resume(
                parked.execution_id, store=store, actor=actor, listeners=listeners, world=world
            )
        except UsageError as exc:  # taken or ended meanwhile: the next sweep sees
            done.append(DueResumed(parked.execution_id, late, "waiting", str(exc)))
            continue
        result = ran.result
        done.append(DueResumed(parked.execution_id, late, result.status, result.error or ""))
    return done


def _notify_waiting(store: Store, now: datetime, secrets: Mapping[str, str] | None) -> None:
    """The runs parked longer than a notify: entry allows hear of it (once each).

    Looked at by the same sweep, before runs past their deadline are resumed;
    a notification that cannot be sent or stored never stops the sweep.
    """
    import logging

    from rb.service.notify import waiting_too_long

    try:
        waiting_too_long(store, now=now, secrets=secrets)
    except Exception as exc:  # the next sweep tries again
        logging.getLogger("rb.notify").warning("waiting_too_long notifications failed: %s", exc)
