"""Regular expressions written by users (`pattern:` in parameter declarations).

Python's `re` backtracks: `^(a+)+$` against 30 a's and a b takes minutes, and
it ran in `rb validate`, before `rb run` and inside `rb serve`'s request
handling. User patterns run on RE2 instead, whose matching time is linear in
the input. RE2 has no lookaround or backreferences; a pattern that uses them
is refused when the runbook is validated, with the reason.
"""

from __future__ import annotations

import functools
from functools import lru_cache
from typing import Any


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message says why."""


@lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """The RE2 program for `pattern`; PatternError if it is not a valid pattern."""
    import re2  # imported here: most runbooks declare no pattern

    options = re2.Options()
    options.log_errors = False  # RE2 would print the error to stderr itself
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        hint = (
            "; lookaround and backreferences are not supported"
            if "perl operator" in str(reason) or "escape sequence" in str(reason)
            else ""
        )
        message = f"pattern {pattern!r} is not a valid regular expression: {reason}{hint}"
        raise PatternError(message) from None


def problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None if it compiles."""
    try:
        compiled(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def search(pattern: str, text: str) -> bool:
    """Does `pattern` match somewhere in `text` (JSON Schema `pattern` semantics)?"""
    return compiled(pattern).search(text) is not None


@functools.cache
def validator_class() -> Any:
    """Draft 7 validation with `pattern` matched by RE2 (invalid patterns are skipped:
    `rb validate` reports them where they are declared).

    Made once: jsonschema builds a class (with attrs) for each extension, about
    a millisecond, which every checked parameter would otherwise pay."""
    import jsonschema

    def pattern(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "string") or not isinstance(value, str):
            return
        try:
            found = search(value, instance)
        except PatternError:
            return
        if not found:
            yield jsonschema.ValidationError(f"{instance!r} does not match {value!r}")

    extend: Any = jsonschema.validators.extend  # untyped in the stubs
    return extend(jsonschema.Draft7Validator, {"pattern": pattern})
