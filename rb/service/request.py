"""What a run is asked to be: the runbook, its world and inputs, and how it is kept."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rb.engine.context import ControlSource, ScreenshotPolicy
from rb.engine.events import Listener
from rb.model import Runbook
from rb.world.base import World

if TYPE_CHECKING:
    from rb.store.database import Store


def default_actor() -> str:
    """Who runs rb: RB_ACTOR, else the OS user (a command's --actor overrides both).

    Nothing vouches for it: a command-line actor is recorded as unverified.
    """
    named = os.environ.get("RB_ACTOR", "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


@dataclass(frozen=True)
class Recording:
    """Where a run is recorded.

    `store` when given (a server keeps one open and reaps interrupted runs
    itself), else the database at `db` (None: RB_DATABASE_URL or the default).
    """

    db: str | None = None
    store: Store | None = None
    replay_of: str | None = None  # the execution this run replays


# The default: recorded in the database at RB_DATABASE_URL, or .rb/rb.db.
RECORDED = Recording()


@dataclass(frozen=True)
class RunRequest:
    """One run, as asked for; `rb.service.runner.execute` carries it out.

    Secrets travel inside the World (`secrets`), so that every effect and
    every event is masked by the same values.
    """

    runbook: Runbook
    world: World
    params: Mapping[str, Any]  # already resolved against the runbook's parameters
    recording: Recording | None = RECORDED  # None: not recorded
    actor: str | None = None  # default: the OS user
    # live, fixture or replay: what the record and the events call the run.
    # Default: the World's own kind (a replay runs in a fixture world).
    kind: str | None = None
    screenshots: ScreenshotPolicy | None = None  # default: .rb/screenshots/<runbook-id>/
    max_parallel: int | None = None
    listeners: Sequence[Listener] = ()  # told of each event (once recorded, if recorded)
    # A second trigger with this key gets the first one's execution (docs/triggers.md).
    idempotency_key: str | None = None
    # Another source of cancel and pause, heard beside the store's control table
    # (a queue job's abort: rb.worker.jobs).
    control: ControlSource | None = None
    # The environment a live run is for (`rb run --env`): its `environments:` rules
    # apply (rb.service.definitions) and the record names it.
    environment: str | None = None
    # Whether a token vouched for `actor` (an API request); a command line's is a claim.
    actor_verified: bool = False

    @property
    def secrets(self) -> Mapping[str, str]:
        """The secrets the run may read (values: masked wherever they appear)."""
        return self.world.secrets

    @property
    def world_kind(self) -> str:
        """live, fixture or replay."""
        return self.kind or self.world.name
