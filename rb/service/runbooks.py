"""Finding a runbook by path or id, and loading it only when every static check passes."""

from __future__ import annotations

from pathlib import Path

from rb import source
from rb.diagnostics import Severity
from rb.errors import RunbookError, UsageError
from rb.loader import Loaded, load_file
from rb.model import Runbook
from rb.plugins import step_types
from rb.validate import validate_loaded

RUNBOOK_DIRS = ("runbooks",)


def find_runbook(ref: str) -> Path:
    """A runbook path, or the file under runbooks/ whose id is `ref`."""
    path = Path(ref)
    if path.is_file():
        return path
    for folder in RUNBOOK_DIRS:
        for candidate in sorted(Path(folder).rglob("*.y*ml")) if Path(folder).is_dir() else []:
            if runbook_id_of(candidate) == ref:
                return candidate
    raise UsageError(
        f"no runbook {ref!r}: give a path, or an id of a runbook under "
        f"{', '.join(d + '/' for d in RUNBOOK_DIRS)}"
    )


def runbook_id_of(path: Path) -> str | None:
    """The `id:` of a runbook file, read cheaply from its top-level line (None if absent)."""
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.startswith("id:"):
                    value = source.load_data(line[3:], str(path))
                    return str(value) if value is not None else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return None


def load_valid_runbook(ref: str) -> Runbook:
    """Load a runbook and run every static check; errors stop here (exit 2)."""
    return require_valid(load_file(find_runbook(ref)))


def require_valid(loaded: Loaded) -> Runbook:
    """The runbook, if every static check passes; else a RunbookError listing them."""
    report = validate_loaded(loaded, step_types())
    errors = [d for d in report.diagnostics if d.severity is Severity.ERROR]
    if errors or loaded.runbook is None:
        lines = "\n".join(d.text() for d in errors)
        raise RunbookError(f"{loaded.path} has errors; fix them first:\n{lines}", tuple(errors))
    return loaded.runbook
