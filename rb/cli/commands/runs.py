"""`rb runs list|show|export` and `rb db upgrade`: reading the store."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rb.engine.outcome import status_text
from rb.errors import EXIT_OK
from rb.report import dumps
from rb.service.runs import (
    DEFAULT_LIMIT,
    export_fixture,
    list_recorded,
    notifications_of,
    recorded,
    upgrade_store,
)
from rb.store.records import Exchange, Execution, iso
from rb.wording import plural


def runs_list(
    *,
    db: str | None,
    runbook: str | None = None,
    status: str | None = None,
    since: str | None = None,
    limit: int = DEFAULT_LIMIT,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Recorded runs, newest recorded first (real time, not a fixture's clock)."""
    out = out or sys.stdout
    found = list_recorded(db=db, runbook=runbook, status=status, since=since, limit=limit)
    if output_format == "json":
        out.write(dumps([r.summary_json() for r in found.runs]))
        return EXIT_OK
    if not found.runs:
        out.write(f"no runs recorded in {found.store}\n")
        return EXIT_OK
    out.write(
        f"{'ID':<10}{'RUNBOOK':<28}{'KIND':<20}{'STATUS':<24}{'RECORDED (UTC)':<21}"
        f"{'TIME':>9}  ACTOR\n"
    )
    for r in found.runs:
        took = f"{r.duration_seconds:.2f}s" if r.duration_seconds is not None else "-"
        recorded_at = (iso(r.recorded_at) or "")[:19].replace("T", " ")
        out.write(
            f"{r.id[:8]:<10}{r.runbook_id[:27]:<28}{r.kind:<20}"
            f"{_status(r, short=True):<24}{recorded_at:<21}{took:>9}  {r.actor}\n"
        )
        if r.waiting_for:
            out.write(f"{'':<10}waiting for {waiting_text(r.waiting_for)}\n")
    if found.more:
        out.write(f"(the newest {limit} shown; more match: use --limit N or --since)\n")
    return EXIT_OK


def runs_show(
    ref: str, *, db: str | None, output_format: str = "text", out: TextIO | None = None
) -> int:
    """One run: its steps, timings, errors and exchanges."""
    out = out or sys.stdout
    run = recorded(ref, db=db)
    if output_format == "json":
        out.write(dumps(run.to_json()))  # the REST API's document, with the exchanges
        return EXIT_OK
    out.write(f"execution {run.id}\n")
    out.write(f"  runbook   {run.runbook_id} {run.runbook_version} ({run.definition_path})\n")
    claimed = "" if run.metadata.get("actor_verified") else ", unverified"
    out.write(f"  status    {_status(run)}  ({run.kind}, by {run.actor}{claimed})\n")
    out.write(f"  recorded  {iso(run.recorded_at)}\n")
    if run.world != "live":  # a fixture's or recording's clock, not real time
        out.write(f"  started   {iso(run.started_at)} (virtual)\n")
    else:
        out.write(f"  started   {iso(run.started_at)}\n")
    if run.duration_seconds is not None:
        out.write(f"  duration  {run.duration_seconds:.3f}s\n")
    if run.replay_of:
        out.write(f"  replay of {run.replay_of}\n")
    if run.metadata.get("environment"):
        out.write(f"  environment  {run.metadata['environment']}\n")
    if run.idempotency_key:
        out.write(f"  idempotency key  {run.idempotency_key}\n")
    if run.concurrency_key:
        out.write(f"  concurrency key  {run.concurrency_key}\n")
    if run.error:
        out.write(f"  error     {run.error}\n")
    if run.waiting_for:
        out.write(f"  waiting   for {waiting_text(run.waiting_for)}\n")
    for a in run.attempts:  # a resumed or retried execution: each of its starts
        out.write(
            f"  attempt {a.get('run_attempt')} {a.get('reason', '')} by {a.get('actor', '?')} "
            f"at {str(a.get('started_at', ''))[:19]}: {a.get('status', 'running')}\n"
        )
    out.write("steps:\n")
    for s in run.steps:
        took = f"{s.duration_seconds:.3f}s" if s.duration_seconds is not None else ""
        detail = s.summary or s.error or s.skip_reason or ""
        start = f" (start {s.run_attempt})" if run.run_attempt > 1 else ""
        out.write(
            f"  {s.step_id:<24}{s.status:<11}{s.attempts:>3} att. {took:>9}  {detail}{start}\n"
        )
    calls = [e for e in run.exchanges or () if e.kind != "observe"]
    if calls:
        out.write("exchanges:\n")
        for e in calls:
            out.write(f"  {e.seq:>4} {e.step_id:<20} #{e.attempt} {_exchange_line(e)}\n")
    _notifications(run.id, db, out)
    return EXIT_OK


def _notifications(execution_id: str, db: str | None, out: TextIO) -> None:
    """What the run's notify: sent: event, status, attempts, target (as written)."""
    rows = notifications_of(execution_id, db=db)
    if not rows:
        return
    out.write("notifications:\n")
    for n in rows:
        tries = plural(n.attempts, "attempt")
        why = f": {n.error}" if n.error else ""
        out.write(f"  {n.event:<17}{n.status:<10}{tries:<11} {n.channel}{why}\n")


def _exchange_line(e: Exchange) -> str:
    req, resp, err = e.request, e.response, e.error
    kind = e.kind
    if kind == "http":
        what = f"{req['method']} {req['url']}"
        got = f"HTTP {resp['status']}" if resp else ""
    elif kind == "sql":
        what = "SQL " + " ".join(req["query"].split())[:60]
        got = plural(resp["row_count"], "row") if resp else ""
    elif kind == "screenshot":
        selector = f" {req['selector']}" if req.get("selector") else ""
        what = f"screenshot of {req['url']}{selector}"
        got = f"{resp['width']}x{resp['height']} PNG" if resp else ""
    elif kind == "shell":
        what = " ".join([req["command"], *map(str, req.get("args") or [])])[:70]
        got = f"exit {resp['exit_code']}" if resp else ""
    else:  # a stubbed step: the fixture gave its result
        what, got = kind, "result from the fixture"
    if err:
        got = f"{err['kind']}: {err['message'].splitlines()[0]}"
    return f"{what} -> {got} ({e.latency_seconds or 0:.3f}s)"


def runs_export(ref: str, fixture: str, *, db: str | None, out: TextIO | None = None) -> int:
    """Write a recording as a fixture file (YAML, or JSON for a .json name)."""
    path, run = export_fixture(ref, fixture, db=db)
    (out or sys.stdout).write(f"wrote {path} from execution {run.id}\n")
    return EXIT_OK


def db_upgrade(*, db: str | None, out: TextIO | None = None) -> int:
    """Migrate the store to the newest schema."""
    done = upgrade_store(db=db)
    same = done.before == done.after
    message = "already at" if same else f"upgraded from {done.before or 'empty'} to"
    write = (out or sys.stdout).write
    write(f"{done.store}: {message} revision {done.after}\n")
    if done.queue_created:
        write(f"{done.store}: created the procrastinate queue for rb worker\n")
    return EXIT_OK


def waiting_text(waiting_for: Sequence[Mapping[str, Any]]) -> str:
    """What a waiting run waits for, in words: `approval at step approve_failover`."""
    return "; ".join(
        f"{w.get('kind')}" + (f" at step {w['step_id']}" if w.get("step_id") else "")
        for w in waiting_for
    )


def _status(run: Execution, *, short: bool = False) -> str:
    """The stored status, with any breached KPI beside it (named unless `short`)."""
    breached = run.kpis_breached
    if short and breached:
        return f"{run.status} (KPI breached)"
    return status_text(run.status, breached)
