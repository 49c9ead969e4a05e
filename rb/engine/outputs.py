"""Turning a step's result document into its declared outputs."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from rb.expressions import render_string
from rb.model import Output, OutputKind


class OutputError(Exception):
    """An output that cannot be computed from the result (not retried)."""


@lru_cache(maxsize=2048)
def _compiled(query: str) -> Any:
    import jsonpath_rfc9535 as jsonpath

    return jsonpath.compile(query)


def jsonpath_query(query: str, document: Any) -> tuple[bool, Any]:
    """(found, value): a singular query gives its one value, others a list."""
    compiled = _compiled(query)
    values = compiled.find(document).values()
    if compiled.singular_query():
        return (True, values[0]) if values else (False, None)
    return True, list(values)


def extract(
    outputs: tuple[Output, ...],
    result: Any,
    resolver: Callable[[str], Any],
    query_field: str | None = None,
) -> dict[str, Any]:
    """Compute every output; raises OutputError naming the one that fails.

    JSONPath queries read `result[query_field]` when the step type names one
    (the response body of an HTTP step), else the whole result.
    """
    queried, where = result, "the result"
    if query_field is not None and isinstance(result, dict) and query_field in result:
        queried, where = result[query_field], f"the response {query_field}"
    out: dict[str, Any] = {}
    for o in outputs:
        if o.kind is OutputKind.LITERAL:
            out[o.name] = o.value
        elif o.kind is OutputKind.EXPRESSION:
            out[o.name] = render_string(o.value, resolver)
        else:
            found, value = jsonpath_query(o.value, queried)
            if not found:
                fields = ", ".join(sorted(queried)) if isinstance(queried, dict) else "none"
                raise OutputError(
                    f"output {o.name!r}: {o.value} matched nothing in {where} "
                    f"(its top-level fields: {fields})"
                )
            out[o.name] = value
    return out


def non_finite_path(value: Any, path: str) -> str | None:
    """The JSON path of the first NaN or infinity inside `value`, if any."""
    found = _non_finite(value)
    if found is None:
        return None
    # Built only when found: most values hold none, and are walked per step.
    return path + "".join(f"[{key}]" if index else f".{key}" for index, key in reversed(found))


def _non_finite(value: Any) -> list[tuple[bool, Any]] | None:
    """The way to the first NaN or infinity, innermost first: (is a list index, key)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, float | dict | list | tuple):
                found = _non_finite(item)
                if found is not None:
                    found.append((False, key))
                    return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, float | dict | list | tuple):
                found = _non_finite(item)
                if found is not None:
                    found.append((True, index))
                    return found
    return None
