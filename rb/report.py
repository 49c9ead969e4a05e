"""Reports of a finished run: the golden comparison, JSON and JUnit XML.

Everything here is built from masked data and sorted, so under a fixture two
runs give byte-identical reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from rb import jsondiff
from rb.engine.outcome import ExecutionResult
from rb.errors import UsageError
from rb.jsondiff import short as short  # re-exported: reports and packs use it
from rb.model import Runbook
from rb.source import undecodable_line


def golden_document(result: ExecutionResult) -> dict[str, Any]:
    """What a golden file holds: the run's status and each step's status and outputs."""
    return {
        "runbook": result.runbook_id,
        "status": result.status,
        "steps": {
            sid: {"status": o.status, "outputs": result.mask(o.outputs)}
            for sid, o in result.steps.items()
        },
    }


def dumps(data: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def differences(expected: Any, actual: Any, path: str = "$") -> Iterator[str]:
    """Each difference as "PATH: expected X, got Y", by JSON path."""
    return (str(d) for d in jsondiff.differences(expected, actual, path))


@dataclass(frozen=True)
class GoldenCheck:
    """How the run's outputs compared with the golden file, or why they were not."""

    path: str
    exists: bool
    differences: tuple[str, ...] = ()
    updated: bool = False  # rewritten on request (--update)
    written: bool = False  # did not exist, written from this run (not under CI)
    missing: str = ""  # why a missing file was not written, when it was not

    @property
    def ok(self) -> bool:
        """Nothing stands against the run: equal outputs, or a file written from it."""
        return (self.exists or self.written) and not self.differences


MISSING_ADVICE = (
    "write it with --update where the run is right and commit it (CI never writes golden files)"
)


def compare_golden(
    result: ExecutionResult, path: Path, *, update: bool, write_missing: bool = False
) -> GoldenCheck:
    """Compare with (or, with `update`, rewrite) the golden file at `path`.

    A missing file is written from this run when `write_missing` is set and the
    run succeeded (a failed run is no golden); otherwise it is not ok.
    """
    actual = golden_document(result)
    if update:
        _write(path, actual)
        return GoldenCheck(str(path), True, updated=True)
    if not path.exists():
        if not write_missing:
            return GoldenCheck(str(path), False, missing=MISSING_ADVICE)
        if result.status != "success":
            return GoldenCheck(str(path), False, missing="not written, as the run did not succeed")
        _write(path, actual)
        return GoldenCheck(str(path), False, written=True)
    expected = read_golden(path)
    return GoldenCheck(str(path), True, tuple(differences(expected, actual)))


def read_golden(path: Path) -> Any:
    """The golden file's JSON; a UsageError at file:line when it is not JSON (exit 2)."""
    advice = "fix it, or rewrite it from a good run with --update"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = undecodable_line(exc)
        raise UsageError(f"{path}:{line}: golden file is not UTF-8 text; {advice}") from None
    except OSError as exc:
        raise UsageError(f"cannot read golden file {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        what = "is empty" if not text.strip() else f"is not valid JSON ({exc.msg})"
        raise UsageError(f"{where}: golden file {what}; {advice}") from None
    except RecursionError:
        raise UsageError(f"{path}: golden file nests too deep to read; {advice}") from None


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(document), encoding="utf-8")


PASS, NEW, UPDATED, FAIL = "PASS", "NEW", "UPDATED", "FAIL"


def verdict(result: ExecutionResult, golden: GoldenCheck | None) -> str:
    """PASS only when every check ran and held; NEW or UPDATED when something
    was written instead of compared (a golden file, a screenshot baseline)."""
    from rb.snapshots import failed_checks

    if not result.ok or failed_checks(result) or (golden is not None and not golden.ok):
        return FAIL
    baselines = {
        o.result.get("baseline_status") for o in result.steps.values() if isinstance(o.result, dict)
    }
    if (golden is not None and golden.updated) or "updated" in baselines:
        return UPDATED
    if (golden is not None and golden.written) or "written" in baselines:
        return NEW
    return PASS


def passed(result: ExecutionResult, golden: GoldenCheck | None) -> bool:
    """Nothing failed (the verdict is PASS, NEW or UPDATED)."""
    return verdict(result, golden) != FAIL


def json_report(
    runbook: Runbook, result: ExecutionResult, golden: GoldenCheck | None, fixture: str | None
) -> dict[str, Any]:
    """The machine-readable report of `rb test` / `rb run`."""
    return {
        "runbook": {"id": runbook.id, "version": runbook.version, "path": runbook.source.path},
        "fixture": fixture,
        "execution_id": result.execution_id,
        "status": result.status,
        "kpis_breached": list(result.kpis_breached),
        "passed": passed(result, golden),
        "verdict": verdict(result, golden),
        "error": result.error,
        "started_at": result.started_at,
        "duration_seconds": round(result.duration_seconds, 6),
        "assumptions": [{"id": a.name, "ok": a.ok, "detail": a.detail} for a in result.assumptions],
        "steps": [
            {
                "id": sid,
                "status": o.status,
                "attempts": o.attempts,
                "duration_seconds": round(o.duration, 6),
                "summary": o.summary,
                "error": o.error,
                "reason": o.reason,
                "rolled_back": o.rolled_back,
                "outputs": result.mask(o.outputs),
            }
            for sid, o in result.steps.items()
        ],
        "kpis": [
            {"name": k.name, "ok": k.ok, "measured": k.measured, "detail": k.detail}
            for k in result.kpis
        ],
        "golden": None
        if golden is None
        else {
            "path": golden.path,
            "exists": golden.exists,
            "written": golden.written or golden.updated,
            "differences": list(golden.differences),
        },
    }


@dataclass(frozen=True)
class JUnitCase:
    """One JUnit test case: passed, failed (with the failure text) or skipped."""

    classname: str
    name: str
    failure: str | None = None
    skipped: str | None = None  # why, when skipped


def junit_suite(name: str, cases: list[JUnitCase], seconds: float) -> ET.Element:
    """A <testsuite> with its counts; `junit_text` turns it (or several) into XML."""
    suite = ET.Element("testsuite", name=name)
    for c in cases:
        case = ET.SubElement(suite, "testcase", classname=c.classname, name=c.name)
        if c.skipped is not None:
            ET.SubElement(case, "skipped", message=c.skipped)
        elif c.failure is not None:
            element = ET.SubElement(case, "failure", message=c.failure.splitlines()[0])
            element.text = c.failure
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.failure is not None and c.skipped is None)))
    suite.set("skipped", str(sum(1 for c in cases if c.skipped is not None)))
    suite.set("time", f"{seconds:.3f}")
    return suite


def junit_text(root: ET.Element) -> str:
    """The XML document, indented, with its declaration."""
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def junit_xml(runbook: Runbook, result: ExecutionResult, golden: GoldenCheck | None) -> str:
    """JUnit XML: one test case per assumption, step, KPI and the golden file."""
    cls = runbook.id
    cases = [
        JUnitCase(f"{cls}.assumption", a.name, None if a.ok else a.detail)
        for a in result.assumptions
    ]
    for sid, o in result.steps.items():
        failure = o.error if o.status == "failed" else None
        skipped = o.reason if o.status == "skipped" else None
        cases.append(JUnitCase(f"{cls}.step", sid, failure, skipped))
    for k in result.kpis:
        cases.append(JUnitCase(f"{cls}.kpi", k.name, None if k.ok else k.detail))
    if golden is not None and not golden.written:
        failure = "\n".join(golden.differences) or None
        if not golden.exists:
            failure = f"no golden file {golden.path} ({golden.missing})"
        cases.append(JUnitCase(f"{cls}.golden", Path(golden.path).name, failure))
    return junit_text(junit_suite(runbook.id, cases, result.duration_seconds))
