"""An execution already in the store that a new start continues (queued, resume, retry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Continuation:
    """An execution already in the store that this run continues.

    Its row is updated instead of inserted; step and exchange numbers go on
    after the recorded ones, and every new row carries `run_attempt`. A
    `queued` row (reason "start", see `first_start`) is recorded before its
    run starts: its run is the execution's first start, not a resume.
    """

    execution_id: str
    run_attempt: int  # this start's number: the recorded one plus one (1 for a queued row)
    step_seq: int  # the highest recorded step log seq
    exchange_seq: int  # the highest recorded exchange seq
    metadata: Mapping[str, Any]
    attempts: Sequence[Mapping[str, Any]]  # the earlier starts, as metadata["attempts"] has them
    reason: str = "resume"  # resume | retry | start

    @property
    def first_start(self) -> bool:
        """True for a queued row: its run starts for the first time (no attempts list)."""
        return self.reason == "start"


# What a queued row's metadata carries into its run's record (rb.service.enqueue).
CARRIED = ("queue", "runbook_path", "fixture", "environment", "actor_verified")


def queued_start(execution_id: str, metadata: Mapping[str, Any] | None = None) -> Continuation:
    """The first start of a run recorded as `queued` before it could start.

    `metadata` is the queued row's: its CARRIED keys stay in the run's record.
    """
    kept = {k: v for k, v in (metadata or {}).items() if k in CARRIED}
    return Continuation(execution_id, 1, 0, 0, kept, (), reason="start")
