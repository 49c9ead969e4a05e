"""`rb runs list|show|export` and `rb db upgrade`: reading the store."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from rb.engine.outcome import breached_kpis, status_text
from rb.errors import EXIT_OK, UsageError
from rb.report import dumps
from rb.store.database import open_store
from rb.store.export import fixture_from_run
from rb.store.queries import iso, list_runs, load_run, reap_interrupted
from rb.wording import plural

DEFAULT_LIMIT = 20
_AGO = re.compile(r"(\d+)([smhd])\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> datetime:
    """`2h`, `3d`, `30m` ago, or an ISO 8601 time."""
    match = _AGO.match(text.strip())
    if match:
        return datetime.now(UTC) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since takes 30m, 2h, 7d or an ISO time, not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_kind(row: dict[str, Any]) -> str:
    """`test` (against a fixture), `live`, or `replay of ID`."""
    if row["world"] == "replay":
        return f"replay of {str(row['replay_of'] or '?')[:8]}"
    return "test" if row["world"] == "fixture" else str(row["world"])


def _plain_run(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "runbook_id": row["runbook_id"],
        "runbook_version": row["runbook_version"],
        "status": row["status"],
        "kpis_breached": breached_kpis((row["metadata"] or {}).get("kpis")),
        "kind": run_kind(row),
        "world": row["world"],
        "recorded_at": iso(row["recorded_at"]),
        "actor": row["actor_id"],
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
        "duration_seconds": row["duration_seconds"],
        "replay_of": row["replay_of"],
    }


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
    store = open_store(db)
    reap_interrupted(store)
    rows = list_runs(
        store,
        runbook=runbook,
        status=status,
        since=parse_since(since) if since else None,
        limit=limit + 1,  # one more, to say whether more exist
    )
    more, rows = len(rows) > limit, rows[:limit]
    if output_format == "json":
        out.write(dumps([_plain_run(r) for r in rows]))
        return EXIT_OK
    if not rows:
        out.write(f"no runs recorded in {store.shown}\n")
        return EXIT_OK
    out.write(
        f"{'ID':<10}{'RUNBOOK':<28}{'KIND':<20}{'STATUS':<24}{'RECORDED (UTC)':<21}"
        f"{'TIME':>9}  ACTOR\n"
    )
    for r in rows:
        took = f"{r['duration_seconds']:.2f}s" if r["duration_seconds"] is not None else "-"
        recorded = (iso(r["recorded_at"]) or "")[:19].replace("T", " ")
        out.write(
            f"{r['id'][:8]:<10}{r['runbook_id'][:27]:<28}{run_kind(r):<20}"
            f"{_status(r, short=True):<24}{recorded:<21}{took:>9}  {r['actor_id']}\n"
        )
    if more:
        out.write(f"(the newest {limit} shown; more match: use --limit N or --since)\n")
    return EXIT_OK


def runs_show(
    ref: str, *, db: str | None, output_format: str = "text", out: TextIO | None = None
) -> int:
    """One run: its steps, timings, errors and exchanges."""
    out = out or sys.stdout
    store = open_store(db)
    reap_interrupted(store)
    run = load_run(store, ref)
    meta = run.row["metadata"]
    if output_format == "json":
        data = {
            **_plain_run(run.row),
            "definition_hash": run.row["definition_hash"],
            "metadata": meta,
            "steps": [
                {
                    k: (iso(v) if k.endswith("_at") else v)
                    for k, v in s.items()
                    if k not in ("id", "execution_id")
                }
                for s in run.steps
            ],
            "exchanges": [
                {k: v for k, v in e.items() if k not in ("id", "execution_id")}
                for e in run.exchanges
            ],
        }
        out.write(dumps(data))
        return EXIT_OK
    r = run.row
    out.write(f"execution {r['id']}\n")
    out.write(f"  runbook   {r['runbook_id']} {r['runbook_version']} ({r['definition_path']})\n")
    out.write(f"  status    {_status(r)}  ({run_kind(r)}, by {r['actor_id']})\n")
    out.write(f"  recorded  {iso(r['recorded_at'])}\n")
    if r["world"] != "live":  # a fixture's or recording's clock, not real time
        out.write(f"  started   {iso(r['started_at'])} (virtual)\n")
    else:
        out.write(f"  started   {iso(r['started_at'])}\n")
    if r["duration_seconds"] is not None:
        out.write(f"  duration  {r['duration_seconds']:.3f}s\n")
    if r["replay_of"]:
        out.write(f"  replay of {r['replay_of']}\n")
    if meta.get("error"):
        out.write(f"  error     {meta['error']}\n")
    out.write("steps:\n")
    for s in run.steps:
        took = f"{s['duration_seconds']:.3f}s" if s["duration_seconds"] is not None else ""
        detail = (
            s["summary"]
            or (s["errors"] or {}).get("message")
            or (s["errors"] or {}).get("reason", "")
        )
        out.write(
            f"  {s['step_id']:<24}{s['status']:<11}{s['attempts']:>3} att. {took:>9}  {detail}\n"
        )
    calls = [e for e in run.exchanges if e["kind"] != "observe"]
    if calls:
        out.write("exchanges:\n")
        for e in calls:
            out.write(f"  {e['seq']:>4} {e['step_id']:<20} #{e['attempt']} {_exchange_line(e)}\n")
    return EXIT_OK


def _exchange_line(e: dict[str, Any]) -> str:
    req, resp, err = e["request"], e["response"], e["error"]
    kind = e["kind"]
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
    return f"{what} -> {got} ({e['latency_seconds'] or 0:.3f}s)"


def runs_export(ref: str, fixture: str, *, db: str | None, out: TextIO | None = None) -> int:
    """Write a recording as a fixture file (YAML, or JSON for a .json name)."""
    out = out or sys.stdout
    store = open_store(db)
    run = load_run(store, ref)
    data = fixture_from_run(run)
    path = Path(fixture)
    if path.suffix == ".json":
        text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    out.write(f"wrote {path} from execution {run.id}\n")
    return EXIT_OK


def db_upgrade(*, db: str | None, out: TextIO | None = None) -> int:
    """Migrate the store to the newest schema."""
    store = open_store(db, migrate=False)
    before = store.revision()
    after = store.upgrade()
    message = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    (out or sys.stdout).write(f"{store.shown}: {message} revision {after}\n")
    return EXIT_OK


def _status(row: dict[str, Any], *, short: bool = False) -> str:
    """The stored status, with any breached KPI beside it (named unless `short`)."""
    breached = breached_kpis((row["metadata"] or {}).get("kpis"))
    if short and breached:
        return f"{row['status']} (KPI breached)"
    return status_text(row["status"], breached)
