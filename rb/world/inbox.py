"""The inbox: how approval and wait_event steps learn what people and systems said.

A step reads decisions and events only through `world.inbox`. Live runs get a
store-backed inbox (rb/store/inbox.py), so an answer given by another process
(`rb approve`, `rb event send`, the API) reaches a run that was parked; fixture
worlds answer from the fixture's `approvals:` and `events:` sections, so an
acceptance pack tests every path without parking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

APPROVE = "approve"
REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Decision:
    """One person's answer to one approval step."""

    actor: str
    decision: str  # approve | reject
    comment: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """An event sent to rb: its name, correlation key and payload."""

    name: str
    key: str
    payload: Any = None
    sent_by: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FixtureApproval:
    """A fixture's answer for one approval step: approved, rejected or timeout."""

    decision: str  # approved | rejected | timeout
    by: tuple[str, ...] = ()
    comment: str | None = None


class Inbox(Protocol):
    """Where a run's waiting steps find their answers."""

    # Whether a step with no answer yet parks the run (store-backed, live) or
    # fails with a message naming the missing fixture section.
    parks: bool

    def trigger(self, execution_id: str) -> str | None:
        """Who started the execution (for `allow_self_approval: false`), if known."""
        ...

    def wait_started(self, execution_id: str, step_id: str) -> datetime | None:
        """When the step first started waiting, in an earlier start of the run."""
        ...

    def decisions(self, execution_id: str, step_id: str) -> Sequence[Decision]:
        """Every decision given for the step so far, oldest first."""
        ...

    def timed_out(self, step_id: str) -> bool:
        """Whether the answer to this step is "no answer in time" (fixtures say so)."""
        ...

    def take_event(self, execution_id: str, step_id: str, name: str, key: str) -> InboxEvent | None:
        """The oldest unconsumed event `name` with `key`, now consumed by this step."""
        ...


@dataclass
class FixtureInbox:
    """Answers from a fixture; nothing is stored and nothing parks.

    A fixture that does not answer a step makes the step fail with a message
    naming the section to add (docs/fixtures.md): a test never hangs.
    """

    approvals: Mapping[str, FixtureApproval] = field(default_factory=dict)
    events: list[InboxEvent] = field(default_factory=list)
    parks: bool = False

    def trigger(self, execution_id: str) -> str | None:
        return None  # a fixture run has no trigger to refuse

    def wait_started(self, execution_id: str, step_id: str) -> datetime | None:
        return None  # a fixture run never parks, so every wait starts now

    def decisions(self, execution_id: str, step_id: str) -> Sequence[Decision]:
        answer = self.approvals.get(step_id)
        if answer is None or answer.decision == "timeout":
            return ()
        verdict = APPROVE if answer.decision == "approved" else REJECT
        by = answer.by or ("fixture",)
        return tuple(Decision(actor, verdict, answer.comment) for actor in by)

    def timed_out(self, step_id: str) -> bool:
        answer = self.approvals.get(step_id)
        return answer is not None and answer.decision == "timeout"

    def answers(self, step_id: str) -> bool:
        """Whether the fixture holds an answer for this approval step."""
        return step_id in self.approvals

    def take_event(self, execution_id: str, step_id: str, name: str, key: str) -> InboxEvent | None:
        for index, event in enumerate(self.events):
            if event.name == name and event.key == key:
                return self.events.pop(index)  # consumed by exactly one step
        return None
