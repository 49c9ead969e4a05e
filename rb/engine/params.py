"""Runbook parameters: from `--param k=v` text or fixture values to checked values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rb.errors import UsageError
from rb.jsonschema_check import first_problem
from rb.jsonschema_check import suggest as did_you_mean_or_options
from rb.limits import MAX_DEPTH, too_deep
from rb.model import Runbook


def parse_assignments(pairs: list[str], what: str = "--param") -> dict[str, str]:
    """`["a=1", "b=x"]` → `{"a": "1", "b": "x"}`; bad items are usage errors."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"{what} takes NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def coerce(type_name: str, text: str) -> Any:
    """Turn command-line text into the declared type."""
    if type_name == "string":
        return text
    if type_name == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ValueError("expected true or false")
    if type_name == "integer":
        return int(text)
    if type_name == "number":
        return float(text)
    deep = ValueError(f"the JSON nests more than {MAX_DEPTH} levels deep; flatten it")
    try:
        value = json.loads(text)  # array, object: JSON on the command line
    except RecursionError:  # the decoder gives up past about 1,000 levels
        raise deep from None
    if too_deep(value):
        raise deep
    return value


def resolve_params(
    runbook: Runbook, given: Mapping[str, Any], *, from_text: bool
) -> dict[str, Any]:
    """Check and complete parameters before anything runs.

    Unknown names, missing required values, and values that do not fit their
    declaration (type, enum, bounds) are usage errors naming the parameter.
    """
    declared = {p.name: p for p in runbook.parameters}
    for name in given:
        if name not in declared:
            raise UsageError(
                f"runbook {runbook.id!r} has no parameter {name!r}"
                + did_you_mean_or_options(name, sorted(declared))
            )
    values: dict[str, Any] = {}
    for name, param in declared.items():
        if name in given:
            raw = given[name]
            try:
                value = coerce(param.type, raw) if from_text and isinstance(raw, str) else raw
            except ValueError as exc:
                raise UsageError(f"parameter {name!r} must be {param.type}: {exc}") from None
            if too_deep(value):
                raise UsageError(f"parameter {name!r} nests more than {MAX_DEPTH} levels deep")
        elif param.has_default:
            value = param.default
        else:
            raise UsageError(f"parameter {name!r} is required: pass --param {name}=VALUE")
        problem = first_problem(param.schema, value, user=True)
        if problem is not None:
            raise UsageError(f"parameter {name!r}: {problem.removeprefix('value: ')}")
        values[name] = value
    return values
