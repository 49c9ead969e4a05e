"""A step that must wait for something outside the run: the run parks.

A step type raises `Park` when the run cannot go on until a person or a
system answers (an approval, an event). The engine then starts no new steps,
lets running ones finish, and ends the run `waiting`, with what it waits for;
the service keeps it in the store, and an answer resumes it from its recording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WaitingFor:
    """What a waiting run waits for: kind approval | event | pause, and details."""

    kind: str
    step_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """As kept in the execution's `waiting_for` column."""
        return {"kind": self.kind, "step_id": self.step_id, **dict(self.detail)}


class Park(Exception):  # a signal to the engine, not an error
    """Raised by a step that cannot finish until something outside answers."""

    def __init__(self, waiting_for: WaitingFor) -> None:
        super().__init__(f"waiting for {waiting_for.kind}")
        self.waiting_for = waiting_for
