"""Parameter declarations: reserved names, defaults and enums that fit their type."""

from __future__ import annotations

from rb import jsonschema_check
from rb.checks.context import CheckContext
from rb.expressions.names import ROOTS
from rb.expressions.syntax import CONSTANT_NAMES
from rb.source import DataPath


def check_parameters(ctx: CheckContext) -> None:
    """Each parameter's default and enum values must satisfy its declaration."""
    reserved = set(ROOTS) | set(CONSTANT_NAMES)
    for param in ctx.runbook.parameters:
        at = ("parameters", param.name)
        if param.name in reserved:
            ctx.report(
                at, "RB022", f"parameter name {param.name!r} is reserved; rename it", key=True
            )
            continue
        _check_patterns(ctx, param.schema, at)
        if param.has_default:
            ctx.diagnostics.extend(
                jsonschema_check.check(
                    param.schema,
                    param.default,
                    ctx.runbook.source,
                    (*at, "default"),
                    code="RB022",
                    where=f"default of parameter {param.name!r}",
                    user=True,
                )
            )
        for i, value in enumerate(param.schema.get("enum", ())):
            schema = {k: v for k, v in param.schema.items() if k != "enum"}
            ctx.diagnostics.extend(
                jsonschema_check.check(
                    schema,
                    value,
                    ctx.runbook.source,
                    (*at, "enum", i),
                    code="RB022",
                    where=f"enum value of parameter {param.name!r}",
                    user=True,
                )
            )


def _check_patterns(ctx: CheckContext, schema: object, at: DataPath) -> None:
    """Each `pattern` (also in `items`) must be a regular expression RE2 accepts."""
    if not isinstance(schema, dict):
        return
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        from rb.user_patterns import problem

        found = problem(pattern)
        if found:
            ctx.report((*at, "pattern"), "RB022", f"parameter {at[1]!r}: {found}")
    _check_patterns(ctx, schema.get("items"), (*at, "items"))
