"""Outputs of HTTP steps written for the old result shape (RB066, RB067).

An HTTP step's output JSONPath reads the response body (`$.data.entities`),
as in the seed, Hurl and k6. Runbooks written when `$` was the whole
response (`$.body.data.entities`, `$.status`) would now read the wrong thing,
so `rb validate` says what to write instead. The bracket forms
(`$['body']`, `$['status']`) are left alone: they read a body field that
really has that name.
"""

from __future__ import annotations

import re

from rb.step_type import StepType

# `$.body`, `$.status` or `$.headers`, as a whole name, in dotted form.
_OLD_SHAPE = re.compile(r"\$\.(body|status|headers)(?![A-Za-z0-9_])")


def old_shape_problem(query: str, step_type: StepType) -> tuple[str, str] | None:
    """(code, message) when `query` reads the whole response the old way."""
    if step_type.query_field is None:
        return None
    found = _OLD_SHAPE.match(query)
    if found is None:
        return None
    name, rest = found.group(1), query[found.end() :]
    if name == step_type.query_field:
        return (
            "RB066",
            f"{step_type.name} outputs read the response {name} already: write "
            f"'${rest}' (for a field of the {name} really named {name!r}, write "
            f"\"$['{name}']{rest}\")",
        )
    return (
        "RB067",
        f"this reads a field {name!r} of the response body; for the response's "
        f"{name} write '${{result.{name}{rest}}}' (or \"$['{name}']{rest}\" to keep "
        "reading the body's field and silence this)",
    )
