"""`rb replay ID`: run a recording again and prove the result is identical."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from rb.errors import EXIT_FAILED, EXIT_OK, UsageError


def replay(
    ref: str,
    *,
    db: str | None = None,
    definition: str | None = None,
    live: bool = False,
    output_format: str = "text",
    actor: str | None = None,
    report: str | None = None,
    out: TextIO | None = None,
) -> int:
    """Replay; 0 when verified, 1 when it diverged (or, with `live`, drifted)."""
    from rb.cli.replay_report import report_lines
    from rb.replay import replay_recording
    from rb.store.database import open_store
    from rb.store.queries import load_run, reap_interrupted

    out = out or sys.stdout
    if live and report:
        raise UsageError("--report shows a replay; --live re-sends requests and records nothing")
    store = open_store(db)
    run = load_run(store, ref)
    if live:
        from rb.drift import drift

        found = drift(run)
        if output_format == "json":
            out.write(json.dumps(found.as_json(), indent=2, sort_keys=True) + "\n")
        else:
            marks = {"same": "✓", "drift": "✗", "skipped": "-"}
            for r in found.exchanges:
                out.write(
                    f"{marks[r['outcome']]} Exchange {r['seq']} ({r['step']}): {r['request']}"
                    f" — {r['detail']}\n"
                )
                out.writelines(f"    {d}\n" for d in r["differences"])
            out.write("DRIFT DETECTED\n" if found.drifted else "NO DRIFT\n")
        return EXIT_FAILED if found.drifted else EXIT_OK
    reap_interrupted(store)
    verdict = replay_recording(run, store=store, definition=definition, actor=actor)
    if output_format == "json":
        out.write(json.dumps(verdict.as_json(), indent=2, sort_keys=True) + "\n")
    else:
        for line in report_lines(verdict):
            out.write(line + "\n")
        if verdict.replay_id:
            out.write(f"replay recorded as {verdict.replay_id}\n")
    if report and verdict.replay_id:
        from rb.cli.commands.report import write_report
        from rb.htmlreport import divergences_from

        quiet = output_format == "json"
        runs = [(verdict.replay_id, "", divergences_from(verdict.as_json()))]
        write_report(report, runs, db=db, out=None if quiet else out)
    return EXIT_OK if verdict.verified else EXIT_FAILED
