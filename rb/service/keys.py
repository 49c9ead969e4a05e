"""Idempotency keys and concurrency keys around a run (docs/triggers.md).

`take_keys(request)` is called before a recorded run starts and `Keys.release`
after it ends, whatever way it ends (rb/service/runner.py `execute`):

- an idempotency key already used for the same runbook and parameters gives
  back the first execution (`AlreadyTriggered`) instead of starting another;
  used for others, `IdempotencyConflict`;
- a runbook with `concurrency:` takes one of the key's `limit` slots first:
  when all are held, `ConcurrencyBusy` (when_busy: reject) or the run waits,
  recorded as `queued` (when_busy: queue). The run records into that queued
  record when it starts, so it keeps one execution id. The slot is let go
  when the run reaches a final state, not while it waits for an approval or
  an event.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rb.engine.events import Event, RunStarted
from rb.errors import EXIT_FAILED, RbError, UsageError
from rb.service.request import RunRequest, default_actor

if TYPE_CHECKING:
    from rb.store.continuation import Continuation
    from rb.store.database import Store

DEFAULT_RETENTION = timedelta(hours=24)
RETENTION_ENV = "RB_IDEMPOTENCY_RETENTION"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)\Z")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# How long a trigger waits for the first trigger of its key to record its run.
START_WAIT_SECONDS = 30.0
# Backoff while queued or waiting for the first trigger: from 20 ms up to 1 s.
_FIRST_POLL, _MAX_POLL = 0.02, 1.0


class IdempotencyConflict(UsageError):
    """The key was used for another runbook or other parameters (CLI exit 2, API 409)."""


class ConcurrencyBusy(RbError):
    """Every slot of the concurrency key is held and the runbook says reject (exit 1, API 409)."""

    exit_code = EXIT_FAILED


class AlreadyTriggered(Exception):
    """The idempotency key already started `execution_id`: that run is the answer.

    Raised by `rb.service.runner.execute` only for a request with an
    idempotency key; the callers that pass one catch it.
    """

    def __init__(self, key: str, execution_id: str, status: str) -> None:
        super().__init__(f"idempotency key {key!r} already started execution {execution_id}")
        self.key = key
        self.execution_id = execution_id
        self.status = status


def retention() -> timedelta:
    """How long a key is kept: RB_IDEMPOTENCY_RETENTION (`90s`, `30m`, `24h`, `7d`), else 24 h."""
    text = os.environ.get(RETENTION_ENV, "").strip()
    if not text:
        return DEFAULT_RETENTION
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"{RETENTION_ENV} takes 90s, 30m, 24h or 7d, not {text!r}")
    return timedelta(seconds=float(match[1]) * _SECONDS[match[2]])


def params_hash(runbook_id: str, params: Mapping[str, Any]) -> str:
    """What makes two triggers the same: the runbook id and its resolved parameters."""
    canonical = json.dumps(
        {"runbook": runbook_id, "params": params},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def concurrency_key(request: RunRequest) -> str | None:
    """The run's concurrency key, worked out from its parameters (None: the runbook has none)."""
    concurrency = request.runbook.concurrency
    if concurrency is None:
        return None
    from rb.expressions import ExpressionError, render_string, text

    params = dict(request.params)

    def resolve(name: str) -> Any:
        if name == "params":
            return params
        raise ExpressionError(f"the concurrency key may read only params, not {name!r}", 0)

    try:
        value = render_string(concurrency.key, resolve)
        return value if isinstance(value, str) else text(value)
    except ExpressionError as exc:  # rb validate reports it (RB075); a run must not start
        raise UsageError(f"concurrency key {concurrency.key!r}: {exc.message}") from None


@dataclass
class Keys:
    """What `take_keys` took for one run; `release` gives back what the run does not keep."""

    store: Store | None = None
    request: RunRequest | None = None  # the request to run
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    # The `queued` record holding the slot: the run records into it when it starts.
    queued_id: str | None = None
    _claimed: bool = field(default=False, repr=False)

    @property
    def continuation(self) -> Continuation | None:
        """The queued record the run continues as its first start (None: it inserts its own)."""
        from rb.store.continuation import queued_start

        return None if self.queued_id is None else queued_start(self.queued_id)

    def __call__(self, event: Event) -> None:
        """Told of RunStarted once it is committed: a run with an idempotency key and
        no queued record (no concurrency key) is what the key now answers."""
        if type(event) is not RunStarted or self.store is None or self.idempotency_key is None:
            return
        from rb.store.keys import point_key

        point_key(self.store, self.idempotency_key, event.execution_id)

    def release(self) -> None:
        """After the run, however it ended: free its slot unless it waits, and forget
        what a run that never started took (so that a new trigger may start it)."""
        if self.store is None:
            return
        from rb.store import keys as stored

        if self._claimed and self.idempotency_key is not None:
            stored.drop_key(self.store, self.idempotency_key)  # only if its run never started
        if self.queued_id is not None:
            stored.drop_queued(self.store, self.queued_id)  # only if it is still queued
            stored.release_slots(self.store, self.queued_id)  # unless it goes on or waits


def take_keys(request: RunRequest) -> Keys:
    """Before a run: replay an idempotent trigger, refuse or queue a busy one.

    Returns the Keys to release after the run; `Keys.request` is the request
    to run. Only recorded runs take keys, and only live runs take slots: a
    fixture run does not touch the cluster its key names.
    """
    key = request.idempotency_key
    if request.recording is None:
        if key is not None:
            raise UsageError("an idempotency key needs a recorded run (drop --no-record)")
        return Keys(request=request)
    slot_key = concurrency_key(request) if request.world_kind == "live" else None
    if key is None and slot_key is None:
        return Keys(request=request)
    store = _store(request)
    keys = Keys(store=store, request=request, idempotency_key=key, concurrency_key=slot_key)
    if slot_key is None:
        # No queued record to hold the key: it learns the run's id when the run starts.
        keys.request = replace(request, listeners=(keys, *request.listeners))
    if key is not None:
        _claim(store, key, request)
        keys._claimed = True
    try:
        if slot_key is not None:
            _take_slot(store, keys, request, slot_key)
    except BaseException:
        keys.release()
        raise
    return keys


def claim_idempotency(store: Store, request: RunRequest) -> None:
    """Take the request's idempotency key for a run about to be recorded, or raise
    what its first trigger says (AlreadyTriggered, IdempotencyConflict)."""
    assert request.idempotency_key is not None
    _claim(store, request.idempotency_key, request)


def _store(request: RunRequest) -> Store:
    assert request.recording is not None
    if request.recording.store is not None:
        return request.recording.store
    from rb.store.database import open_store

    return open_store(request.recording.db)


def _claim(store: Store, key: str, request: RunRequest) -> None:
    """Take the key, or raise what the first trigger of it says."""
    from rb.store.keys import claim_key, read_key, status_of

    wanted = params_hash(request.runbook.id, request.params)
    found = claim_key(store, key, request.runbook.id, wanted, retention())
    if found is None:
        return
    if found.runbook_id != request.runbook.id or found.params_hash != wanted:
        what = (
            f"runbook {found.runbook_id!r}"
            if found.runbook_id != request.runbook.id
            else "other parameters"
        )
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for {what}; "
            "use a new key for a different run"
        )
    # The first trigger records its run within moments; wait for its id.
    deadline = time.monotonic() + START_WAIT_SECONDS
    pause = _FIRST_POLL
    while found is not None and found.execution_id is None and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, _MAX_POLL)
        found = read_key(store, key)
    if found is None:  # the first trigger gave up before starting: this one starts it
        _claim(store, key, request)
        return
    if found.execution_id is None:
        raise RbError(
            f"idempotency key {key!r} is taken by a trigger that has not started its run "
            f"after {START_WAIT_SECONDS:.0f}s; try again later"
        )
    status = status_of(store, found.execution_id) or "unknown"
    raise AlreadyTriggered(key, found.execution_id, status)


def _take_slot(store: Store, keys: Keys, request: RunRequest, slot_key: str) -> None:
    """Hold a slot of the key before the run starts: at once, after a wait, or never.

    The slot belongs to a `queued` record made first; the run, once it has
    the slot, records into that record (`Keys.continuation`): one id throughout.
    """
    from rb.store.keys import add_queued, beat, take_slot

    concurrency = request.runbook.concurrency
    assert concurrency is not None
    queued_id = str(uuid.uuid4())
    add_queued(
        store,
        queued_id,
        request.runbook,
        actor=request.actor or default_actor(),
        world=request.world_kind,
        params=request.params,
        concurrency_key=slot_key,
        idempotency_key=keys.idempotency_key,
    )
    keys.queued_id = queued_id
    pause = _FIRST_POLL
    while take_slot(store, slot_key, concurrency.limit, queued_id) is None:
        if concurrency.when_busy == "reject":
            raise ConcurrencyBusy(
                f"runbook {request.runbook.id!r} is already running for concurrency key "
                f"{slot_key!r} (limit {concurrency.limit}); the run was refused (when_busy: reject)"
            )
        time.sleep(pause)  # queued: poll with backoff until a holder lets go
        pause = min(pause * 2, _MAX_POLL)
        beat(store, queued_id)
