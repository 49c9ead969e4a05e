"""Diagnostics: problems in a user's file, as values with a position.

Every check in rb reports through `Diagnostic`. The code table below is the
single list of what rb can report; docs/diagnostics.md documents each code and
a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    name: str
    severity: Severity
    summary: str


def _codes(*rows: tuple[str, str, Severity, str]) -> dict[str, Code]:
    return {row[0]: Code(*row) for row in rows}


E, W = Severity.ERROR, Severity.WARNING

CODES: dict[str, Code] = _codes(
    ("RB001", "file-unreadable", E, "the file cannot be read"),
    ("RB002", "yaml-syntax", E, "the file is not valid YAML"),
    ("RB003", "duplicate-key", E, "a mapping has the same key twice"),
    ("RB004", "not-a-runbook", E, "the document is not a mapping"),
    ("RB010", "unknown-key", E, "a key the format does not know (often a typo)"),
    ("RB011", "missing-field", E, "a required field is missing"),
    ("RB012", "wrong-type", E, "a value has the wrong type"),
    ("RB013", "invalid-value", E, "a value is outside what the field accepts"),
    ("RB020", "unknown-step-type", E, "no step-type plugin has this name"),
    ("RB021", "invalid-inputs", E, "inputs break the step type's input schema"),
    ("RB022", "invalid-parameter", E, "a parameter declaration or default is inconsistent"),
    ("RB030", "duplicate-step-id", E, "two steps have the same id"),
    ("RB031", "missing-dependency", E, "depends_on names a step that does not exist"),
    ("RB032", "self-dependency", E, "a step depends on itself"),
    ("RB033", "cycle", E, "steps depend on each other in a cycle"),
    ("RB040", "expression-syntax", E, "a ${...} expression cannot be parsed"),
    ("RB041", "unknown-name", E, "an expression uses a name rb does not know"),
    ("RB042", "undeclared-parameter", E, "params.X where X is not declared"),
    ("RB043", "unknown-step-reference", E, "steps.X where no step X exists"),
    ("RB044", "unknown-output", E, "steps.X.outputs.Y where X declares no output Y"),
    ("RB045", "not-an-ancestor", E, "reads a step that may not have run yet"),
    ("RB046", "unknown-function", E, "calls a function rb does not provide"),
    ("RB047", "invalid-jsonpath", E, "an output's JSONPath query is invalid"),
    ("RB048", "item-outside-loop", E, "`item` used outside a for_each step"),
    ("RB049", "loop-too-long", E, "a literal for_each list exceeds the hard limit"),
    ("RB060", "unused-output", W, "outputs of a step that its dependents never read"),
    ("RB061", "unused-parameter", W, "a parameter nobody uses"),
    ("RB062", "expression-in-sql", E, "${...} inside SQL text instead of bound parameters"),
    (
        "RB063",
        "kpi-below-timeouts",
        W,
        "max_duration_seconds is below the critical path's timeouts",
    ),
    ("RB064", "jsonpath-unknown-field", W, "a JSONPath starts at a field the result does not have"),
    ("RB065", "timeout-below-wait", W, "a step's timeout ends it before its own wait or deadline"),
    ("RB066", "response-body-prefix", E, "an HTTP output's JSONPath starts with `$.body`"),
    (
        "RB067",
        "response-field-in-body",
        W,
        "an HTTP output's JSONPath reads `$.status` or `$.headers` from the body",
    ),
    (
        "RB068",
        "secret-use",
        E,
        "a secret is changed by an expression, or read where it is recorded",
    ),
    ("RB069", "environment-read", E, "the whole `env`, or one of rb's own settings, is read"),
    ("RB070", "redundant-dependency", W, "a depends_on entry another path already implies"),
    ("RB075", "concurrency-key", E, "the concurrency key is not an expression over parameters"),
    ("RB076", "schedule-cron", E, "the schedule's cron expression is not five valid fields"),
    ("RB077", "schedule-timezone", E, "the schedule's time zone is not an IANA name"),
    ("RB078", "schedule-params", E, "the schedule's params do not fit the runbook's parameters"),
    ("RB079", "schedule-catch-up", E, "the schedule's catch_up is not a duration like 30m"),
    ("RB085", "notify", E, "a notify: entry rb could not send as written"),
)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem at one place in one file."""

    file: str
    line: int
    col: int
    code: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def name(self) -> str:
        return CODES[self.code].name

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.col, self.code)

    def text(self) -> str:
        """`file:line:col: severity CODE message`, the form editors and CI parse."""
        return (
            f"{self.file}:{self.line}:{self.col}: {self.severity.value} {self.code} {self.message}"
        )


def make(file: str, line: int, col: int, code: str, message: str) -> Diagnostic:
    """Build a diagnostic with the code's default severity."""
    return Diagnostic(file, line, col, code, message, CODES[code].severity)
