"""`rb acceptance generate RUNBOOK`: failure scenarios derived from the runbook's declarations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from rb.acceptance.generate import Plan, plan
from rb.acceptance.generated_pack import (
    default_out,
    find_golden,
    golden_run,
    raw_fixture,
    run,
    write,
)
from rb.acceptance.runner import PackResult, RunOptions
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.report import dumps
from rb.service.runbooks import find_runbook, load_valid_runbook
from rb.world.fixture_format import load_fixture


def acceptance_generate(
    runbook_ref: str,
    *,
    fixture: str | None = None,
    out_dir: str | None = None,
    run_them: bool = True,
    output_format: str = "text",
    options: RunOptions | None = None,
    out: TextIO | None = None,
) -> int:
    """Write the failure pack of a runbook, then (unless `run_them` is off) run it.

    Exit 0 when every generated expectation holds (or nothing ran), 1 when
    the runbook does not do what its declarations say (the findings).
    """
    out = out or sys.stdout
    runbook_file = find_runbook(runbook_ref)
    runbook = load_valid_runbook(runbook_ref)
    golden_path = Path(fixture) if fixture else find_golden(runbook, runbook_file)
    golden = load_fixture(golden_path)
    status, states = golden_run(runbook, golden)
    planned = plan(runbook, golden, raw_fixture(golden_path), status, states)
    target = Path(out_dir) if out_dir else default_out(runbook.id)
    pack_file = write(planned, target, golden_path, runbook_file.as_posix())
    result = run(pack_file, runbook, options or RunOptions(record=False)) if run_them else None
    findings = _findings(result) if result is not None else []
    if output_format == "json":
        out.write(
            dumps(
                {
                    "runbook": runbook.id,
                    "pack": pack_file.as_posix(),
                    "fixture": golden_path.as_posix(),
                    "scenarios": [
                        {"name": s.name, "status": s.status, "steps": dict(s.steps)}
                        for s in planned.scenarios
                    ],
                    "skipped": [
                        {"dependency": s.dependency, "why": s.why} for s in planned.skipped
                    ],
                    "ran": result is not None,
                    "findings": findings,
                }
            )
        )
    else:
        out.write("".join(line + "\n" for line in _text(planned, pack_file, result, findings)))
    return EXIT_FAILED if findings else EXIT_OK


def _findings(result: PackResult) -> list[dict[str, str]]:
    """One per expectation a scenario did not meet: what was declared, what happened."""
    return [
        {
            "scenario": s.name,
            "declared": next(
                (sc.description for sc in result.pack.scenarios if sc.name == s.name), ""
            ),
            "check": v.expectation.key,
            "expected": v.expectation.want.text,
            "actual": _short(v.actual),
            "where": v.where,
        }
        for s in result.scenarios
        for v in s.failures
    ]


def _text(
    planned: Plan, pack_file: Path, result: PackResult | None, findings: list[dict[str, str]]
) -> list[str]:
    lines = [
        f"{planned.runbook}: {len(planned.scenarios)} failure scenarios "
        f"written to {pack_file.as_posix()}"
    ]
    for skipped in planned.skipped:
        lines.append(f"  not generated: {skipped.dependency}: {skipped.why}")
    if result is None:
        lines.append(f"run them with: rb acceptance {pack_file.as_posix()}")
        return lines
    for s in result.scenarios:
        lines.append(f"  {'PASS' if s.passed else 'FAIL'}  {s.name}")
    if not findings:
        lines.append("every failure policy does what it declares")
        return lines
    lines.append(
        f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: "
        "the runbook does not do what it declares"
    )
    for f in findings:
        lines.append(
            f"  {f['where']}: {f['scenario']}: {f['check']}: "
            f"expected {f['expected']}, got {f['actual']}"
        )
        lines.append(f"    declared: {f['declared']}")
    return lines


_SHOWN = 240  # an error quoting a whole body is cut here


def _short(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= _SHOWN else line[: _SHOWN - 3] + "..."
