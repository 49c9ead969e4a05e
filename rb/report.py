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

from rb.engine.outcome import ExecutionResult
from rb.model import Runbook


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
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if str(key).isidentifier() else f"{path}[{json.dumps(key)}]"
            if key not in actual:
                yield f"{sub}: expected {short(expected[key])}, missing"
            elif key not in expected:
                yield f"{sub}: not expected, got {short(actual[key])}"
            else:
                yield from differences(expected[key], actual[key], sub)
    elif isinstance(expected, list) and isinstance(actual, list):
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            yield from differences(e, a, f"{path}[{i}]")
        if len(expected) != len(actual):
            yield f"{path}: expected {len(expected)} items, got {len(actual)}"
    elif expected != actual or type(expected) is not type(actual):
        yield f"{path}: expected {short(expected)}, got {short(actual)}"


def short(value: Any) -> str:
    """`value` as compact JSON, cut to 80 characters for one-line messages."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class GoldenCheck:
    path: str
    exists: bool
    differences: tuple[str, ...] = ()
    updated: bool = False

    @property
    def ok(self) -> bool:
        return not self.differences


def compare_golden(result: ExecutionResult, path: Path, *, update: bool) -> GoldenCheck:
    """Compare with (or, with `update`, rewrite) the golden file at `path`."""
    actual = golden_document(result)
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(actual), encoding="utf-8")
        return GoldenCheck(str(path), True, updated=True)
    if not path.exists():
        return GoldenCheck(str(path), False)
    expected = json.loads(path.read_text(encoding="utf-8"))
    return GoldenCheck(str(path), True, tuple(differences(expected, actual)))


def passed(result: ExecutionResult, golden: GoldenCheck | None) -> bool:
    from rb.snapshots import failed_checks

    ok = result.status == "success" and (golden is None or golden.ok)
    return ok and not failed_checks(result)


def json_report(
    runbook: Runbook, result: ExecutionResult, golden: GoldenCheck | None, fixture: str | None
) -> dict[str, Any]:
    """The machine-readable report of `rb test` / `rb run`."""
    return {
        "runbook": {"id": runbook.id, "version": runbook.version, "path": runbook.source.path},
        "fixture": fixture,
        "execution_id": result.execution_id,
        "status": result.status,
        "passed": passed(result, golden),
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
    if golden is not None and golden.exists:
        failure = "\n".join(golden.differences) or None
        cases.append(JUnitCase(f"{cls}.golden", Path(golden.path).name, failure))
    return junit_text(junit_suite(runbook.id, cases, result.duration_seconds))
