"""Notifications: who hears of a run, and when (a runbook's `notify:`, docs/notifications.md).

The engine knows nothing of them. The service, once a run has ended (or
parked), works out its events, builds one message per event, and hands it to
each target through the run's World: the live world sends it with apprise, a
fixture world only records it. Delivery is tried again with backoff; however
it goes, the run's result stays what it was. Every notification is kept in
runbook_notifications with the target as written (`${secrets.NAME}`, never
the value) and the message masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rb.engine.outcome import ExecutionResult
from rb.engine.secrets import Masker
from rb.model import Runbook
from rb.policies import Notify
from rb.store.notifications import NotificationRow
from rb.world.base import Notification, World, WorldError

if TYPE_CHECKING:
    from rb.store.database import Store

BASE_URL_VARIABLE = "RB_BASE_URL"  # where people open an execution: {base}/api/executions/{id}
FAILED = frozenset({"failure", "aborted", "timed_out"})  # what `failure` covers
_SECRET = re.compile(r"\$\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_SAYS = {
    "failure": "failed",
    "success": "succeeded",
    "approval_needed": "needs an approval",
    "waiting_too_long": "has been waiting too long",
}


@dataclass(frozen=True)
class Occasion:
    """One event of one run that its notify entries may listen to."""

    event: str  # failure | success | approval_needed | waiting_too_long
    runbook: Runbook
    execution_id: str
    status: str  # the run's status
    step_id: str | None = None  # the failed or waiting step
    detail: str = ""  # the step's error, what the approval asks, how long it waited
    error: str = ""  # the run's error


def occasions(runbook: Runbook, result: ExecutionResult, execution_id: str) -> list[Occasion]:
    """The events a finished (or parked) run gives: failure, success or approval_needed."""
    status = result.status
    if status == "success":
        return [Occasion("success", runbook, execution_id, status)]
    if status in FAILED:
        failed = next(
            (result.steps[s.id] for s in runbook.steps if _failed(result, s.id)),
            None,
        )
        return [
            Occasion(
                "failure",
                runbook,
                execution_id,
                status,
                failed.step_id if failed else None,
                failed.error if failed else "",
                result.error,
            )
        ]
    if status == "waiting":
        return [
            Occasion(
                "approval_needed",
                runbook,
                execution_id,
                status,
                w.step_id,
                str(w.detail.get("message") or ""),
            )
            for w in result.waiting_for
            if w.kind == "approval"
        ]
    return []  # cancelled: someone did it, and knows


def _failed(result: ExecutionResult, step_id: str) -> bool:
    outcome = result.steps.get(step_id)
    return outcome is not None and outcome.status == "failed"


def listening(runbook: Runbook, event: str) -> list[Notify]:
    """The notify entries that listen to `event`."""
    return [n for n in runbook.notify if event in n.events]


def message(occasion: Occasion, entry: Notify) -> tuple[str, str]:
    """The title and body of a notification: runbook, execution, event, what failed, a link."""
    rb = occasion.runbook
    title = entry.title or f"rb: {rb.name} {_SAYS[occasion.event]}"
    lines = [
        f"Runbook: {rb.name} ({rb.id}, version {rb.version})",
        f"Execution: {occasion.execution_id}",
        f"Event: {occasion.event}",
        f"Status: {occasion.status}",
    ]
    step, detail = occasion.step_id, occasion.detail
    if occasion.event == "failure":
        if step:
            lines.append(f"Failed step: {step}: {detail}" if detail else f"Failed step: {step}")
        elif occasion.error:
            lines.append(f"Error: {occasion.error}")
    elif step:
        lines.append(f"Waiting at step: {step}" + (f": {detail}" if detail else ""))
    lines.append(link(occasion.execution_id))
    return title, "\n".join(lines)


def link(execution_id: str, base: str | None = None) -> str:
    """Where to see the execution: the server's API when RB_BASE_URL is set, else the CLI."""
    base = base if base is not None else os.environ.get(BASE_URL_VARIABLE, "")
    if base:
        return f"Link: {base.rstrip('/')}/api/executions/{execution_id}"
    return f"Show it: rb runs show {execution_id}"


SentBefore = Callable[[str, "str | None"], set[str]]


async def for_run(
    runbook: Runbook,
    result: ExecutionResult,
    world: World,
    execution_id: str,
    store: Store | None,
) -> list[NotificationRow]:
    """Send what `runbook`'s notify: says for how a run ended (or parked), through its world.

    `store` (where the run is recorded) says which waiting events were
    already sent for this execution; the caller stores the rows returned.
    """
    rows: list[NotificationRow] = []
    for occasion in occasions(runbook, result, execution_id):
        if not listening(runbook, occasion.event):
            continue
        waiting = store is not None and occasion.status == "waiting"
        before = sent_before(store, execution_id) if store is not None and waiting else None
        rows += await send(world, occasion, sent_before=before)
    return rows


def sent_before(store: Store, execution_id: str) -> SentBefore:
    """The channels an execution already has an (event, step) notification for."""
    from rb.store.database import StoreError
    from rb.store.notifications import already_sent

    def channels(event: str, step_id: str | None) -> set[str]:
        try:
            return already_sent(store, execution_id, event, step_id)
        except StoreError:  # better told twice than never
            return set()

    return channels


async def send(
    world: World,
    occasion: Occasion,
    *,
    entries: list[Notify] | None = None,
    sent_before: SentBefore | None = None,
) -> list[NotificationRow]:
    """Send `occasion` to every target of `entries` (default: those listening to it).

    Never raises for a target: a failure is a `failed` row. `sent_before`
    gives the channels that already have this event (the waiting events
    are sent once per run and step).
    """
    mask = Masker(world.secrets).text
    done = sent_before(occasion.event, occasion.step_id) if sent_before else set()
    rows = []
    chosen = listening(occasion.runbook, occasion.event) if entries is None else entries
    for entry in chosen:
        title, body = message(occasion, entry)
        title, body = mask(title), mask(body)
        for target in entry.to:
            channel = mask(target)
            if channel in done:
                continue
            done.add(channel)
            status, attempts, error = await _deliver(world, entry, target, title, body, mask)
            rows.append(
                NotificationRow(
                    event=occasion.event,
                    channel=channel,
                    title=title,
                    body=body,
                    status=status,
                    attempts=attempts,
                    at=datetime.now(UTC),
                    error=error,
                    step_id=occasion.step_id,
                )
            )
    return rows


async def _deliver(
    world: World, entry: Notify, target: str, title: str, body: str, mask: Callable[[str], str]
) -> tuple[str, int, str | None]:
    """Try up to retry.max_attempts times, waiting with backoff: (status, attempts, error)."""
    url, missing = fill_secrets(target, world.secrets)
    if missing:
        names = ", ".join(missing)
        return "failed", 0, f"secret {names} is not set (RB_SECRET_<NAME> or --secrets-file)"
    error = ""
    attempts = entry.retry.max_attempts
    for attempt in range(1, attempts + 1):
        try:
            sent = await world.notify(Notification(url, title, body))
        except WorldError as exc:
            error = mask(exc.message)
            if not exc.retryable:
                return "failed", attempt, error
        except Exception as exc:  # a notification never fails the run
            error = mask(f"{type(exc).__name__}: {exc}")
        else:
            return ("sent" if sent else "recorded"), attempt, None
        if attempt < attempts:
            await world.sleep(entry.retry.delay(attempt))
    return "failed", attempts, error


def fill_secrets(target: str, secrets: Mapping[str, str]) -> tuple[str, list[str]]:
    """The target with its `${secrets.NAME}` references filled in, and the names not set."""
    missing: list[str] = []

    def value(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in secrets:
            missing.append(name)
            return ""
        return secrets[name]

    return _SECRET.sub(value, target), missing


def waiting_too_long(
    store: Store, *, now: datetime | None = None, secrets: Mapping[str, str] | None = None
) -> list[NotificationRow]:
    """Send `waiting_too_long` for parked live runs that have waited past an entry's threshold.

    Once per run, step and target (the rows already stored say what was
    sent). `secrets` fill the targets (default: the environment's). Called by
    `rb resume --due` and `rb serve`'s sweep (rb.service.due.resume_due).
    """
    due = _overdue(store, now or datetime.now(UTC))
    if not due:
        return []
    from rb.service.inputs import secrets_from
    from rb.service.runner import live_world
    from rb.store.notifications import append

    # Outside any run: a live world of its own sends them.
    world = live_world(
        secrets=secrets if secrets is not None else secrets_from(os.environ, None), facts={}
    )

    async def main() -> list[NotificationRow]:
        sent: list[NotificationRow] = []
        try:
            for occasion, entries in due:
                before = sent_before(store, occasion.execution_id)
                rows = await send(world, occasion, entries=entries, sent_before=before)
                append(store, occasion.execution_id, rows)
                sent += rows
        finally:
            await world.aclose()
        return sent

    return world.run(main)


def _overdue(store: Store, now: datetime) -> list[tuple[Occasion, list[Notify]]]:
    """Each wait of a parked live run past a threshold, with the entries it is past."""
    from rb.store.notifications import parked_live_runs

    found = []
    for parked in parked_live_runs(store):
        if "waiting_too_long" not in parked.definition:
            continue  # no need to load a runbook that cannot listen
        runbook = _definition(parked.definition, parked.definition_path)
        if runbook is None:
            continue
        waited = (now - parked.since).total_seconds()
        entries = [
            e
            for e in listening(runbook, "waiting_too_long")
            if waited >= (e.waiting_too_long_seconds or 0)
        ]
        if not entries:
            continue
        since = parked.since.isoformat(timespec="seconds")
        for wait in parked.waiting_for:
            step = wait.get("step_id")
            detail = (
                f"waiting for {wait.get('kind', 'an answer')} since {since} ({_minutes(waited)})"
            )
            occasion = Occasion(
                "waiting_too_long",
                runbook,
                parked.execution_id,
                "waiting",
                str(step) if step else None,
                detail,
            )
            found.append((occasion, entries))
    return found


def _definition(text: str, path: str) -> Runbook | None:
    """The parked run's runbook as it started (None if it no longer loads)."""
    from rb.loader import load_text

    loaded = load_text(text, path)
    return loaded.runbook


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
