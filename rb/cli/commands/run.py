"""`rb run RUNBOOK --param k=v`: run for real, with a live view."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any, TextIO

from rb.cli.commands import auditing
from rb.cli.commands.auditing import StartedRun
from rb.cli.notifications import warn_undelivered
from rb.cli.render import LiveView, PlainProgress, is_terminal, summary_lines
from rb.engine.outcome import ExecutionResult, status_text
from rb.engine.params import parse_assignments, resolve_params
from rb.engine.secrets import Masker
from rb.engine.waiting import WaitingFor
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.report import dumps, json_report
from rb.service.access import require
from rb.service.audit import store_for_audit
from rb.service.identity import cli_actor
from rb.service.inputs import parse_facts, secrets_from
from rb.service.keys import AlreadyTriggered
from rb.service.request import Recording, RunRequest
from rb.service.runbooks import load_valid_runbook
from rb.service.runner import execute, live_world
from rb.world.live import LiveWorld


def run(
    runbook_ref: str,
    *,
    params: list[str],
    facts: list[str],
    secrets_file: str | None = None,
    max_parallel: int | None = None,
    output_format: str = "text",
    record: bool = True,
    db: str | None = None,
    actor: str | None = None,
    out: TextIO | None = None,
    world: LiveWorld | None = None,
    idempotency_key: str | None = None,
    environment: str | None = None,
) -> int:
    """Check parameters, then run live; 0 on success, 1 on failure."""
    out = out or sys.stdout
    runbook = load_valid_runbook(runbook_ref)
    values = resolve_params(runbook, parse_assignments(params), from_text=True)
    if world is None:
        import os

        world = live_world(secrets=secrets_from(os.environ, secrets_file), facts=parse_facts(facts))
    live = output_format == "text" and is_terminal(out)
    view: Any = contextlib.nullcontext()
    listeners: list[Any] = []
    if live:
        view = LiveView([s.id for s in runbook.steps], out)
        listeners.append(view)
    elif output_format == "text":
        listeners.append(PlainProgress(out))
    recording = Recording(db=db) if record else None
    who = cli_actor(actor)
    require(who, "run", runbook, environment)  # the runbook's access: lists, by claimed name
    started = StartedRun()
    request = RunRequest(
        runbook,
        world,
        params=values,
        recording=recording,
        actor=who.name,
        max_parallel=max_parallel,
        listeners=[*listeners, started],
        idempotency_key=idempotency_key,
        environment=environment,
    )

    def audit(execution_id: str | None, result: ExecutionResult | None = None) -> None:
        if execution_id is not None:
            auditing.record(
                store_for_audit(db, recorded=record),
                who,
                "trigger",
                execution_id,
                result=result,
                legal_basis=runbook.legal_basis,
                details={"runbook": runbook.id, "version": runbook.version, "recorded": record},
            )

    try:
        with (
            view,
            _sigterm_as_interrupt(),
            auditing.recorded_if_cut_short(lambda: audit(started.execution_id)),
        ):
            ran = execute(request)
    except AlreadyTriggered as first:
        return _already_triggered(first, output_format, out)
    result, execution_id = ran.result, ran.execution_id
    audit(execution_id or result.execution_id, result)
    warn_undelivered(ran.notifications)
    if live and execution_id and result.status == "waiting" and sys.stdin.isatty():
        from rb.cli.commands.waits import ask_on_terminal

        answered = ask_on_terminal(execution_id, db=db, actor=who.name, out=out)
        if answered is not None and answered.resumed is not None:
            result = answered.resumed.result  # the run went on after the answer
    if output_format == "json":
        out.write(dumps(json_report(runbook, result, None, None)))
    else:
        mask = Masker(world.secrets).text
        for line in summary_lines(result):
            out.write(mask(line) + "\n")
        if result.error:
            out.write(f"{result.error}\n")
        if execution_id:
            out.write(f"recorded as {execution_id} (rb runs show {execution_id[:8]})\n")
        out.write(f"{status_text(result.status.upper(), result.kpis_breached)}\n")
        if execution_id and result.status == "waiting":
            for hint in _how_to_continue(execution_id[:8], result.waiting_for):
                out.write(f"continue with: {hint}\n")
    if result.status == "waiting":
        return EXIT_OK  # parked, not failed: an answer or `rb resume` continues it
    # A breached KPI fails the run's verdict though the procedure succeeded.
    return EXIT_OK if result.ok else EXIT_FAILED


def run_on_queue(
    runbook_ref: str,
    *,
    params: list[str],
    facts: list[str],
    output_format: str,
    no_record: bool,
    secrets_file: str | None,
    db: str | None,
    actor: str | None,
    idempotency_key: str | None,
    queue: str,
    wait: bool,
    environment: str | None = None,
    out: TextIO | None = None,
) -> int:
    """`rb run --queue`: queue the run for a worker; 0 once queued (with --wait: by its end)."""
    import os
    from pathlib import Path

    from rb.errors import UsageError
    from rb.service.enqueue import queue_run, wait_until_settled
    from rb.service.runbooks import find_runbook
    from rb.store.database import open_store

    out = out or sys.stdout
    if no_record or secrets_file:
        what = "--no-record" if no_record else "--secrets-file"
        raise UsageError(
            f"{what} does not go with --queue: a queued run is recorded, and reads its "
            "secrets from the worker's environment"
        )
    path = find_runbook(runbook_ref)
    relative = os.path.relpath(path.resolve(), Path.cwd())
    if relative.startswith(".."):
        raise UsageError(
            f"{path} is outside this folder: run rb run --queue from the project folder "
            "the workers serve (rb worker --project)"
        )
    runbook = load_valid_runbook(str(path))
    values = resolve_params(runbook, parse_assignments(params), from_text=True)
    who = cli_actor(actor)
    require(who, "run", runbook, environment)
    request = RunRequest(
        runbook,
        live_world(secrets={}, facts=parse_facts(facts)),
        params=values,
        recording=Recording(db=db),
        actor=who.name,
        idempotency_key=idempotency_key,
        environment=environment,
    )
    try:
        done = queue_run(request, runbook_path=relative, queue=queue)
    except AlreadyTriggered as first:
        return _already_triggered(first, output_format, out)
    details = {"runbook": runbook.id, "version": runbook.version, "queue": done.queue}
    auditing.record(
        open_store(db),
        who,
        "trigger",
        done.execution_id,
        legal_basis=runbook.legal_basis,
        details=details,
    )
    status = "queued"
    if wait:
        status = wait_until_settled(open_store(db), done.execution_id)
    if output_format == "json":
        document = {"execution_id": done.execution_id, "queue": done.queue, "status": status}
        out.write(json.dumps(document) + "\n")
    else:
        out.write(
            f"{status}: execution {done.execution_id} on queue {done.queue!r} "
            f"(rb runs show {done.execution_id[:8]})\n"
        )
    if status in ("queued", "success", "waiting"):
        return EXIT_OK
    return EXIT_FAILED


def _how_to_continue(short_id: str, waiting_for: Sequence[WaitingFor]) -> list[str]:
    """The command that lets a parked run go on, for each thing it waits for."""
    hints = []
    for wait in waiting_for:
        if wait.kind == "approval":
            hints.append(f"rb approve {short_id} --step {wait.step_id} (or rb reject)")
        elif wait.kind == "event":
            name, key = wait.detail.get("name", "NAME"), wait.detail.get("key", "KEY")
            hints.append(f"rb event send {name} --key {key} --data JSON")
        else:
            hints.append(f"rb resume {short_id}")
    return hints


def _already_triggered(first: AlreadyTriggered, output_format: str, out: TextIO) -> int:
    """The key's first run is the answer: its id and status; exit 1 only if it ended badly."""
    ok = first.status in ("success", "queued", "running", "waiting")
    if output_format == "json":
        document = {
            "execution_id": first.execution_id,
            "status": first.status,
            "idempotency_key": first.key,
            "replayed": True,
        }
        out.write(json.dumps(document) + "\n")
    else:
        out.write(
            f"idempotency key {first.key!r} already started {first.execution_id} "
            f"(rb runs show {first.execution_id[:8]}): {first.status}\n"
        )
    return EXIT_OK if ok else EXIT_FAILED


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While running, SIGTERM stops rb as Ctrl-C does.

    The running steps are cancelled (a shell step's command gets SIGTERM, then
    SIGKILL), rb exits 130 and the run is recorded as `interrupted`. By
    default SIGTERM would end rb at once, leaving that to the warden.
    """

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        # Inside asyncio.Runner, the SIGINT handler is the runner's: it
        # cancels the run's task, which is the clean way to stop it.
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:  # SIGINT ignored (a background job): stop all the same
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (a server): its own handling applies
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
