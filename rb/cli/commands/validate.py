"""`rb validate PATH...`: static checks, reported as file:line:col."""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import TextIO

from rb.cli.diagnostics_output import render
from rb.diagnostics import Severity
from rb.errors import EXIT_FAILED, EXIT_OK, UsageError
from rb.plugins import step_types
from rb.validate import validate_files

YAML_SUFFIXES = (".yaml", ".yml")


def expand_paths(patterns: list[str]) -> list[Path]:
    """Files as given, folders searched for *.yaml/*.yml, globs expanded.

    Raises UsageError for a path or pattern that matches nothing.
    """
    found: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))]
        else:
            matches = [Path(pattern)] if Path(pattern).exists() else []
        if not matches:
            raise UsageError(f"no such file, folder or match: {pattern}")
        for path in matches:
            if path.is_dir():
                found.extend(
                    sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
                )
            else:
                found.append(path)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise UsageError(f"no runbook files (*.yaml, *.yml) in: {' '.join(patterns)}")
    return unique


def validate(
    patterns: list[str],
    *,
    output_format: str = "text",
    strict: bool = False,
    out: TextIO | None = None,
) -> int:
    """Validate runbooks; returns 0 clean, 1 errors (or warnings when strict)."""
    files = expand_paths(patterns)
    reports = validate_files(files, step_types())
    render(reports, output_format, out or sys.stdout)
    severities = {d.severity for r in reports for d in r.diagnostics}
    if Severity.ERROR in severities or (strict and Severity.WARNING in severities):
        return EXIT_FAILED
    return EXIT_OK
