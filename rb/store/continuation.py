"""An execution already in the store that a new start continues (resume, retry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Continuation:
    """An execution already in the store that this run continues (resume, retry).

    Its row is updated instead of inserted; step and exchange numbers go on
    after the recorded ones, and every new row carries `run_attempt`.
    """

    execution_id: str
    run_attempt: int  # this start's number: the recorded one plus one
    step_seq: int  # the highest recorded step log seq
    exchange_seq: int  # the highest recorded exchange seq
    metadata: Mapping[str, Any]
    attempts: Sequence[Mapping[str, Any]]  # the earlier starts, as metadata["attempts"] has them
    reason: str = "resume"  # resume | retry
