"""`rb validate` core: load runbook files and run every static check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rb.checks.concurrency import check_concurrency
from rb.checks.context import CheckContext
from rb.checks.hygiene import check_kpi_duration, check_timeouts_cover_waits, check_unused
from rb.checks.notify import check_notify
from rb.checks.parameters import check_parameters
from rb.checks.references import check_expressions
from rb.checks.schedule import check_schedule
from rb.checks.structure import check_ids_and_dependencies, check_types_and_inputs
from rb.diagnostics import Diagnostic
from rb.loader import Loaded, load_file
from rb.model import Runbook
from rb.source import no_gc
from rb.step_type import StepType


@dataclass(frozen=True)
class FileReport:
    path: str
    runbook_id: str | None
    diagnostics: tuple[Diagnostic, ...]


def check_runbook(runbook: Runbook, step_types: Mapping[str, StepType]) -> list[Diagnostic]:
    """All diagnostics for a runbook that loaded, sorted by position."""
    with no_gc():
        return _check(runbook, step_types)


def _check(runbook: Runbook, step_types: Mapping[str, StepType]) -> list[Diagnostic]:
    ctx = CheckContext(runbook, step_types)
    check_ids_and_dependencies(ctx)
    check_types_and_inputs(ctx)
    check_parameters(ctx)
    check_concurrency(ctx)
    check_schedule(ctx)
    check_notify(ctx)
    check_expressions(ctx)
    check_unused(ctx)
    check_kpi_duration(ctx)
    check_timeouts_cover_waits(ctx)
    return sorted(ctx.diagnostics, key=Diagnostic.sort_key)


def validate_loaded(loaded: Loaded, step_types: Mapping[str, StepType]) -> FileReport:
    """Run every check on one loaded file."""
    if loaded.runbook is None:
        diagnostics = sorted(loaded.diagnostics, key=Diagnostic.sort_key)
        return FileReport(loaded.path, None, tuple(diagnostics))
    found = check_runbook(loaded.runbook, step_types)
    return FileReport(loaded.path, loaded.runbook.id, tuple(found))


def validate_files(paths: Iterable[Path], step_types: Mapping[str, StepType]) -> list[FileReport]:
    """Validate each file; problems are in the reports, never raised."""
    return [validate_loaded(load_file(p), step_types) for p in paths]
