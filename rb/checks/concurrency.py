"""The runbook's `concurrency.key`: an expression over the run's parameters only.

The key is worked out before the run starts, when there are no step outputs,
no secrets and no environment yet: only `params` can be read.
"""

from __future__ import annotations

from rb.checks.context import CheckContext
from rb.expressions import ExpressionError, has_expression, parse, split

CODE = "RB075"


def check_concurrency(ctx: CheckContext) -> None:
    """Report a concurrency key that reads anything but declared parameters."""
    concurrency = ctx.runbook.concurrency
    if concurrency is None:
        return
    at = ("concurrency", "key")
    key = concurrency.key
    if not has_expression(key):
        ctx.report(
            at,
            CODE,
            f"concurrency key {key!r} is the same for every run; "
            'key it by a parameter, as in "${params.cluster}"',
        )
        return
    declared = {p.name for p in ctx.runbook.parameters}
    try:
        segments = split(key)
    except ExpressionError as exc:
        ctx.report_in_string(at, exc.offset, CODE, exc.message)
        return
    for segment in segments:
        if segment.expr is None:
            continue
        try:
            expression = parse(segment.expr)
        except ExpressionError as exc:
            ctx.report_in_string(at, segment.offset + exc.offset, CODE, exc.message)
            continue
        for ref in expression.references():
            offset = segment.offset + ref.offset
            if ref.root != "params":
                ctx.report_in_string(
                    at,
                    offset,
                    CODE,
                    f"the concurrency key reads {ref.root!r}: it is worked out before the run "
                    "starts, so it may read only params",
                )
            elif ref.parts and ref.parts[0] not in declared:
                ctx.report_in_string(
                    at,
                    offset,
                    CODE,
                    f"the concurrency key reads undeclared parameter {ref.parts[0]!r}",
                )
            if ref.root == "params":
                ctx.used_parameters.update(str(p) for p in ref.parts[:1])
