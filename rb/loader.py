"""Loading runbook files: read, parse YAML, check the format, build the model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rb import jsonschema_check, model, schemas, source
from rb.diagnostics import Diagnostic, make


@dataclass(frozen=True)
class Loaded:
    """A runbook (None if it could not be built) and what was found on the way."""

    path: str
    runbook: model.Runbook | None
    diagnostics: tuple[Diagnostic, ...]


def format_schema() -> dict[str, Any]:
    """The runbook format's JSON Schema, as shipped in the package."""
    return schemas.load("runbook")


def load_file(path: str | Path) -> Loaded:
    """Load one runbook file; never raises for problems in the file itself."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = source.undecodable_line(exc)
        message = f"not UTF-8 text ({exc.reason}); save the file as UTF-8"
        return Loaded(name, None, (make(name, line, 1, "RB001", message),))
    except OSError as exc:
        return Loaded(name, None, (make(name, 1, 1, "RB001", f"cannot read: {exc.strerror}"),))
    return load_text(text, name)


def load_text(text: str, path: str = "<string>") -> Loaded:
    """Load a runbook from YAML text (`path` names it in diagnostics)."""
    with source.no_gc():
        return _load(text, path)


def _load(text: str, path: str) -> Loaded:
    doc, diagnostics = source.parse(text, path)
    if doc is None:
        return Loaded(path, None, tuple(diagnostics))
    if not isinstance(doc.data, dict):
        kind = "empty" if doc.data is None else f"a {type(doc.data).__name__}"
        msg = f"a runbook is a mapping with id, name, version and steps; this file is {kind}"
        return Loaded(path, None, (*diagnostics, make(path, 1, 1, "RB004", msg)))
    diagnostics += jsonschema_check.check(format_schema(), doc.data, doc)
    if diagnostics:
        return Loaded(path, None, tuple(diagnostics))
    return Loaded(path, model.from_raw(doc.data, doc), ())
