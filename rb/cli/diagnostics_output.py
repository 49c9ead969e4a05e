"""Rendering validation reports as text, JSON or GitHub Actions annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from rb.cli.color import use_color
from rb.diagnostics import Diagnostic, Severity
from rb.validate import FileReport
from rb.wording import plural

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m"}
_RESET = "\033[0m"


def render(reports: Sequence[FileReport], output_format: str, out: TextIO) -> None:
    """Write `reports` to `out` in `output_format` (text, json or github)."""
    if output_format == "json":
        json.dump(as_json(reports), out, indent=2)
        out.write("\n")
    elif output_format == "github":
        for d in _all(reports):
            out.write(github_annotation(d) + "\n")
        out.write(summary(reports) + "\n")
    else:
        color = use_color(out)
        for d in _all(reports):
            out.write(text_line(d, color) + "\n")
        out.write(summary(reports) + "\n")


def _all(reports: Sequence[FileReport]) -> list[Diagnostic]:
    return [d for r in reports for d in r.diagnostics]


def text_line(d: Diagnostic, color: bool = False) -> str:
    """`Diagnostic.text()`, with the severity coloured on a terminal."""
    if not color:
        return d.text()
    severity = f"{_COLORS[d.severity]}{d.severity.value}{_RESET}"
    return f"{d.file}:{d.line}:{d.col}: {severity} {d.code} {d.message}"


def summary(reports: Sequence[FileReport]) -> str:
    errors = sum(d.severity is Severity.ERROR for d in _all(reports))
    warnings = sum(d.severity is Severity.WARNING for d in _all(reports))
    files = len(reports)
    checked = f"{plural(files, 'runbook')} checked"
    if not errors and not warnings:
        return f"{checked}: no problems"
    return f"{checked}: {plural(errors, 'error')}, {plural(warnings, 'warning')}"


def github_annotation(d: Diagnostic) -> str:
    """A GitHub Actions workflow command that annotates the line in the PR."""
    props = f"file={_escape_prop(d.file)},line={d.line},col={d.col},title={d.code} {d.name}"
    return f"::{d.severity.value} {props}::{_escape_data(d.message)}"


def as_json(reports: Sequence[FileReport]) -> dict[str, object]:
    """The JSON report: files, diagnostics and a summary."""
    diagnostics = _all(reports)
    return {
        "files": [
            {
                "path": r.path,
                "runbook_id": r.runbook_id,
                "valid": not any(d.severity is Severity.ERROR for d in r.diagnostics),
            }
            for r in reports
        ],
        "diagnostics": [
            {
                "file": d.file,
                "line": d.line,
                "col": d.col,
                "severity": d.severity.value,
                "code": d.code,
                "name": d.name,
                "message": d.message,
            }
            for d in diagnostics
        ],
        "summary": {
            "files": len(reports),
            "errors": sum(d.severity is Severity.ERROR for d in diagnostics),
            "warnings": sum(d.severity is Severity.WARNING for d in diagnostics),
        },
    }


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")
