"""Reports of acceptance runs: the summary table, JSON and JUnit XML.

Built from masked data in pack and scenario order; under fixtures time and
ids are deterministic, so two runs give byte-identical JSON and XML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

from rb.acceptance.observed import step_state
from rb.acceptance.runner import PackResult, ScenarioResult
from rb.report import JUnitCase, junit_suite, junit_text
from rb.wording import plural

_COLUMNS = ("RUNBOOK", "SCENARIO", "STATUS", "CHECKS", "RESULT")


def counts(results: Sequence[PackResult]) -> tuple[int, int]:
    """(scenarios, failed scenarios)."""
    scenarios = [s for p in results for s in p.scenarios]
    return len(scenarios), sum(1 for s in scenarios if not s.passed)


def text_report(results: Sequence[PackResult]) -> list[str]:
    """The summary table, then each failed scenario with its failed checks and its run."""
    from rb.cli.render import summary_lines

    rows = [_COLUMNS] + [
        (
            p.pack.runbook_id,
            s.name,
            s.result.status + (" (KPI breached)" if s.result.kpis_breached else ""),
            f"{len(s.verdicts) - len(s.failures)}/{len(s.verdicts)}",
            "PASS" if s.passed else "FAIL",
        )
        for p in results
        for s in p.scenarios
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    for p in results:
        for s in p.scenarios:
            if s.passed:
                continue
            lines += ["", f"FAIL {p.pack.runbook_id} / {s.name} (fixture {s.fixture})"]
            lines += [f"  {v.text()}" for v in s.failures]
            lines += ["  The run:"] + [f"    {line}" for line in summary_lines(s.result)]
    total, failed = counts(results)
    packs = plural(len(results), "pack")
    scenarios = f"{total} scenario{'s' if total != 1 else ''}"
    lines += ["", f"{scenarios} in {packs}: {total - failed} passed, {failed} failed"]
    return lines


def json_report(results: Sequence[PackResult]) -> dict[str, Any]:
    """The machine-readable report of `rb acceptance --format json`."""
    total, failed = counts(results)
    return {
        "passed": failed == 0,
        "summary": {"packs": len(results), "scenarios": total, "failed": failed},
        "packs": [
            {
                "runbook": p.pack.runbook_id,
                "path": str(p.pack.path),
                "passed": p.passed,
                "scenarios": [_scenario_json(s) for s in p.scenarios],
            }
            for p in results
        ],
    }


def _scenario_json(s: ScenarioResult) -> dict[str, Any]:
    r = s.result
    return {
        "name": s.name,
        "fixture": s.fixture,
        "passed": s.passed,
        "execution_id": r.execution_id,
        "status": r.status,
        "kpis_breached": list(r.kpis_breached),
        "error": r.error,
        "duration_seconds": round(r.duration_seconds, 6),
        "steps": {sid: step_state(o) for sid, o in r.steps.items()},
        "errors": [{"step": e.step, "type": e.type, "message": e.message} for e in s.errors],
        "checks": [
            {
                "key": v.expectation.key,
                "expected": str(v.expectation.want),
                "actual": v.actual,
                "ok": v.ok,
                "where": v.where,
            }
            for v in s.verdicts
        ],
    }


def junit_report(results: Sequence[PackResult]) -> str:
    """JUnit XML: a test suite per pack, a test case per scenario."""
    root = ET.Element("testsuites", name="rb acceptance")
    for p in results:
        cases = [
            JUnitCase(
                p.pack.runbook_id,
                s.name,
                "\n".join(v.text() for v in s.failures) if not s.passed else None,
            )
            for s in p.scenarios
        ]
        seconds = sum(s.result.duration_seconds for s in p.scenarios)
        root.append(junit_suite(p.pack.runbook_id, cases, seconds))
    total, failed = counts(results)
    root.set("tests", str(total))
    root.set("failures", str(failed))
    return junit_text(root)
