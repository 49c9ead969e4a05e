"""`rb loadtest generate` and `rb loadtest run`: k6 load tests of `rb serve`.

The work is in rb/loadtest/; this module parses nothing and renders little.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rb.errors import EXIT_FAILED, EXIT_OK, UsageError

# GenerateOptions is re-exported: the command line builds it beside generate().
from rb.loadtest.generate import OUTPUT_DIR, render_script
from rb.loadtest.generate import GenerateOptions as GenerateOptions

OUTPUT_FORMATS = ("text", "json")


def generate(
    runbooks: Sequence[str],
    options: GenerateOptions | None = None,
    *,
    output: str | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Write a k6 script for each runbook (default loadtests/<runbook-id>.js).

    `output` names the file for a single runbook; "-" writes the script to
    `out`. Problems raise UsageError or RunbookError (exit 2) before any file
    is written.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if output_format not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {output_format!r}: use text or json")
    if output is not None and len(runbooks) != 1:
        raise UsageError("-o/--output names one file: give one runbook, or leave -o out")
    if output == "-" and output_format == "json":
        raise UsageError("-o - writes the script to stdout: leave out --format json")
    scripts = [render_script(ref, options, output) for ref in runbooks]
    ids = [s.runbook_id for s in scripts]
    if len(set(ids)) != len(ids):
        raise UsageError(f"the same runbook was given twice: {', '.join(ids)}")

    written: list[dict[str, Any]] = []
    for script in scripts:
        if script.note:
            err.write(f"rb: note: {script.note}\n")
        if script.target is None:
            out.write(script.text)
            continue
        try:
            script.target.parent.mkdir(parents=True, exist_ok=True)
            script.target.write_text(script.text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {script.target}: {exc.strerror}") from None
        request = script.request
        written.append(
            {
                "runbook_id": script.runbook_id,
                "script": script.target.as_posix(),
                "scenario": request.scenario,
                "fixture": request.fixture,
                "inputs": dict(request.inputs),
                "load": script.load.describe(),
                "thresholds": script.thresholds.k6(),
            }
        )
        if output_format == "text":
            where = (
                f"scenario {request.scenario!r}, fixture {request.fixture}"
                if request.scenario is not None
                else "live: parameter defaults, no fixture"
            )
            out.write(f"wrote {script.target.as_posix()} ({where}; {script.load.describe()})\n")
    if output_format == "json":
        json.dump(written, out, indent=2)
        out.write("\n")
    return EXIT_OK


def run(
    script: str,
    *,
    url: str | None = None,
    summary: str | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run `script` with k6 against `url`; report p50/p95/p99, rates and thresholds.

    Returns 0 when every threshold held, 1 when one was crossed. A missing
    script, k6 or bad URL is a UsageError (2); k6 stopping for another reason
    (an error in the script, say) is K6Failed (2) with k6's last lines.
    """
    from rb.loadtest.k6 import K6Failed, find_k6, run_script
    from rb.loadtest.summary import as_json, load_summary, text_lines

    out = out or sys.stdout
    err = err or sys.stderr
    if output_format not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {output_format!r}: use text or json")
    path = Path(script)
    if not path.is_file():
        raise UsageError(
            f"no k6 script {script}: write one with `rb loadtest generate RUNBOOK` "
            f"(it goes to {OUTPUT_DIR}/<runbook-id>.js)"
        )
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageError(
            f"--url {url!r}: give the base URL of rb serve, e.g. http://127.0.0.1:8080"
        )
    k6 = find_k6()
    with tempfile.TemporaryDirectory(prefix="rb-loadtest-") as scratch:
        export = Path(summary) if summary else Path(scratch) / "summary.json"
        if summary:
            try:
                export.parent.mkdir(parents=True, exist_ok=True)
                export.unlink(missing_ok=True)  # a stale file must not pass for this run's
            except OSError as exc:
                raise UsageError(f"--summary {summary}: {exc.strerror}") from None
        result = run_script(path, summary=export, url=url, out=err, k6=k6)
        if result.exit_code != 0 and not result.thresholds_crossed:
            raise K6Failed(result)
        report = load_summary(export)
    failed = bool(report.crossed) or result.thresholds_crossed
    target = url or os.environ.get("RB_URL")  # k6 reads RB_URL from the environment too
    if output_format == "json":
        doc = {
            "script": path.as_posix(),
            "url": target,
            "k6_exit_code": result.exit_code,
            **as_json(report),
            "passed": not failed,
            "summary": summary,
        }
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        out.write(f"k6 run {path.as_posix()}" + (f" against {target}" if target else "") + "\n")
        for line in text_lines(report):
            out.write(line + "\n")
    return EXIT_FAILED if failed else EXIT_OK
