"""The audit records of the CLI's own actions: trigger, approve, reject, cancel, pause,
resume, retry, event (docs/security.md, "Audit trail").

The actor is `cli_actor(--actor)`: --actor, else RB_ACTOR, else the OS user,
unverified; the commands pass the same name to the run they start. An
action is recorded once rb has done it, so its outcome can be linked; one
cut short (Ctrl-C, SIGTERM) is recorded on the way out, and one refused
(an RbError: nothing was done) is not.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from rb.engine.events import Event, RunStarted
from rb.errors import RbError

if TYPE_CHECKING:
    from rb.engine.outcome import ExecutionResult
    from rb.service.identity import Actor
    from rb.store.database import Store


def record(
    store: Store | None,
    actor: Actor,
    action: str,
    execution_id: str,
    *,
    result: ExecutionResult | None = None,
    legal_basis: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append the CLI's `action` on an execution to `store`'s trail (no store: not audited)."""
    if store is None:
        return
    from rb.service.audit import record_on_execution

    record_on_execution(
        store,
        actor,
        action,
        execution_id,
        result=result,
        legal_basis=legal_basis,
        details=details,
    )


@contextlib.contextmanager
def recorded_if_cut_short(write: Callable[[], None]) -> Iterator[None]:
    """Around an action: if it is cut short (not refused), `write` its record all the same.

    A failure to record then is reported, not raised over the interruption.
    """
    try:
        yield
    except RbError:
        raise
    except BaseException:
        try:
            write()
        except RbError as exc:
            print(f"rb: warning: the action was not audited: {exc}", file=sys.stderr)
        raise


class StartedRun:
    """A listener that keeps the execution id of the run once it has started."""

    def __init__(self) -> None:
        self.execution_id: str | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted) and self.execution_id is None:
            self.execution_id = event.execution_id
