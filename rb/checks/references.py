"""Expressions: syntax, names, step references, functions, JSONPath outputs.

Every string the engine will evaluate is visited with a *scope* saying what
it may read: the step it belongs to (whose ancestors it may read), whether
`item` and `result` exist there, and whether steps may be read at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rb.checks.context import CheckContext
from rb.checks.response_queries import old_shape_problem
from rb.checks.sensitive import SecretUse, check_sensitive
from rb.expressions import ExpressionError, parse, split
from rb.expressions.functions import FUNCTIONS
from rb.expressions.names import EXECUTION_FIELDS, ROOTS, STEP_FIELDS, bare_name_root
from rb.expressions.syntax import CONSTANT_NAMES, Expression, Reference
from rb.graph import Ancestry
from rb.jsonschema_check import did_you_mean, suggest
from rb.model import OutputKind, Step
from rb.source import DataPath

_PY_CONSTANTS = frozenset({"True", "False", "None"})
# The input a step sets (literally `true`) to paste ${...} into SQL text on purpose.
SQL_OPT_OUT = "allow_sql_interpolation"


def _sql_opt_out(step: Step | None) -> bool:
    return step is not None and step.inputs.get(SQL_OPT_OUT) is True


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an expression is evaluated, and so what it may read."""

    what: str  # for messages: "step 'x' inputs", "KPI 'y'"
    step: Step | None = None  # reading step (its ancestors are readable)
    include_self: bool = False  # rollback may read its own step's outputs
    steps_readable: bool = True  # False before any step has run (assumptions)
    loop: bool = False  # `item` exists
    result: bool = False  # `result` exists
    sql: bool = False  # the string is SQL text
    own_outputs: bool = False  # `outputs.NAME` reads the step's own outputs (summary:)
    secrets: SecretUse = "none"  # how secrets may be used here (rb.checks.sensitive)


def check_expressions(ctx: CheckContext) -> None:
    """Check every expression in the runbook."""
    rb = ctx.runbook
    for step in rb.steps:
        name = f"step {step.id!r}"
        loop = step.for_each is not None
        lazy = ctx.step_types[step.type].lazy_inputs if step.type in ctx.step_types else frozenset()
        sql = ctx.step_types[step.type].sql_inputs if step.type in ctx.step_types else frozenset()
        for key, value in step.inputs.items():
            scope = Scope(
                f"{name} inputs",
                step,
                loop=loop,
                result=key in lazy,
                sql=key in sql,
                secrets="condition" if key in lazy else "value",
            )
            if key in lazy and isinstance(value, str):
                # Evaluated as a condition at run time: text around it would
                # make a non-empty string, always true.
                _whole(
                    ctx,
                    (*step.path, "inputs", key),
                    value,
                    scope,
                    f"{key} takes one ${{...}} condition",
                )
                continue
            _visit(ctx, (*step.path, "inputs", key), value, scope)
        if step.when is not None:
            scope = Scope(f"{name} when", step, secrets="condition")
            _condition(ctx, (*step.path, "when"), step.when, scope)
        if isinstance(step.for_each, str):
            _whole(
                ctx,
                (*step.path, "for_each"),
                step.for_each,
                Scope(f"{name} for_each", step),
                "for_each takes a list, or a ${...} expression giving one",
            )
        for out in step.outputs:
            at = (*step.path, "outputs", out.name)
            if out.kind is OutputKind.EXPRESSION:
                _whole(
                    ctx,
                    at,
                    out.value,
                    Scope(f"{name} outputs", step, loop=loop, result=True),
                    "an output is a JSONPath ($.x), one ${...} expression, or a literal",
                )
            elif out.kind is OutputKind.JSONPATH:
                _jsonpath(ctx, at, out.value, step)
        if step.summary is not None:
            scope = Scope(f"{name} summary", step, include_self=True, result=True, own_outputs=True)
            _visit(ctx, (*step.path, "summary"), step.summary, scope)
        if step.rollback is not None:
            scope = Scope(f"rollback of {name}", step, include_self=True, secrets="value")
            _visit(ctx, (*step.path, "rollback", "inputs"), dict(step.rollback.inputs), scope)
    for a in rb.assumptions:
        if a.check is not None:
            scope = Scope(f"assumption {a.id!r}", steps_readable=False, secrets="condition")
            _whole(
                ctx,
                ("assumptions", a.index, "check"),
                a.check,
                scope,
                "an assumption's check is one ${...} condition",
            )
    for kpi in rb.kpis:
        if kpi.measure is not None:
            _whole(
                ctx,
                ("kpis", kpi.name, "measure"),
                kpi.measure,
                Scope(f"KPI {kpi.name!r}"),
                "a KPI measure is one ${...} expression",
            )


def _visit(ctx: CheckContext, path: DataPath, value: Any, scope: Scope) -> None:
    for at, text in _strings(path, value):
        if "${" in text:
            if scope.sql and not _sql_opt_out(scope.step):
                ctx.report(
                    at,
                    "RB062",
                    f"{scope.what}: ${{...}} inside SQL text is pasted into the query; "
                    f"use :name placeholders and pass values in params (or set "
                    f"{SQL_OPT_OUT}: true on the step if the text is trusted)",
                )
            _string(ctx, at, text, scope)


def _strings(path: DataPath, value: Any) -> Iterator[tuple[DataPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings((*path, k), v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings((*path, i), v)


def _string(ctx: CheckContext, path: DataPath, text: str, scope: Scope) -> int:
    """Check every expression in one string; returns how many it holds."""
    try:
        segments = split(text)
    except ExpressionError as exc:
        ctx.report_in_string(path, exc.offset, "RB040", f"{scope.what}: {exc.message}")
        return -1
    count = 0
    for seg in segments:
        if seg.expr is None:
            continue
        count += 1
        try:
            expr = parse(seg.expr)
        except ExpressionError as exc:
            ctx.report_in_string(
                path, seg.offset + exc.offset, "RB040", f"{scope.what}: {exc.message}"
            )
            continue
        _expression(ctx, path, seg.offset, expr, scope)
    return count


def _whole(ctx: CheckContext, path: DataPath, text: str, scope: Scope, rule: str) -> None:
    stripped = text.strip()
    if not (stripped.startswith("${") and stripped.endswith("}")):
        ctx.report(path, "RB040", f"{scope.what}: {rule}, e.g. ${{steps.check.outputs.ok}}")
        return
    if _string(ctx, path, text, scope) > 1:
        ctx.report(path, "RB040", f"{scope.what}: {rule}, not text around several expressions")


def _condition(ctx: CheckContext, path: DataPath, value: str | bool, scope: Scope) -> None:
    if isinstance(value, str):
        _whole(ctx, path, value, scope, "when takes true/false or one ${...} condition")


def _expression(
    ctx: CheckContext, path: DataPath, base: int, expr: Expression, scope: Scope
) -> None:
    for call in expr.calls():
        if call.name not in FUNCTIONS:
            ctx.report_in_string(
                path,
                base + call.offset,
                "RB046",
                f"{scope.what}: unknown function {call.name!r}"
                + suggest(call.name, sorted(FUNCTIONS)),
            )
    for ref in expr.references():
        _reference(ctx, path, base + ref.offset, ref, scope)
    check_sensitive(ctx, path, base, expr, scope.what, scope.secrets)


def _reference(
    ctx: CheckContext, path: DataPath, offset: int, ref: Reference, scope: Scope
) -> None:
    def bad(code: str, message: str) -> None:
        ctx.report_in_string(path, offset, code, f"{scope.what}: {message}")

    root, parts = ref.root, ref.parts
    if root in CONSTANT_NAMES or root in _PY_CONSTANTS:
        return
    params = {p.name for p in ctx.runbook.parameters}
    if root == "params":
        if parts and isinstance(parts[0], str):
            if parts[0] in params:
                ctx.used_parameters.add(parts[0])
            else:
                bad(
                    "RB042",
                    f"parameter {parts[0]!r} is not declared under parameters:"
                    + suggest(parts[0], sorted(params)),
                )
        return
    if root in ("env", "secrets"):
        return
    if root == "steps":
        _step_reference(ctx, parts, scope, bad)
        return
    if root == "execution":
        if parts and parts[0] not in EXECUTION_FIELDS:
            bad(
                "RB041",
                f"execution has no field {parts[0]!r}"
                + suggest(str(parts[0]), list(EXECUTION_FIELDS)),
            )
        return
    if root in ("item", "item_index"):
        if not scope.loop:
            bad("RB048", f"{root!r} exists only inside a step with for_each")
        return
    if root == "result":
        if not scope.result:
            bad("RB041", "'result' exists only in outputs:, summary: and wait's until")
        return
    if root == "outputs":
        _own_output(ctx, parts, scope, bad)
        return
    target = bare_name_root(root, params)
    if target == "params":
        ctx.used_parameters.add(root)
    elif target is None and root in FUNCTIONS:
        bad("RB041", f"{root!r} is a function, not a value: call it, e.g. {root}(...)")
    elif target is None:
        names = [*ROOTS, *sorted(params), *FUNCTIONS]
        bad(
            "RB041",
            f"unknown name {root!r}"
            + (
                did_you_mean(root, names)
                or "; a bare name must be a declared parameter or an UPPER_CASE env variable"
            ),
        )


def _step_reference(
    ctx: CheckContext, parts: tuple[str | int, ...], scope: Scope, bad: Any
) -> None:
    if not parts:
        return
    target_id = parts[0]
    steps = ctx.steps
    if not scope.steps_readable:
        bad("RB045", "assumptions are checked before any step runs, so they cannot read steps")
        return
    target = steps.get(target_id) if isinstance(target_id, str) else None
    if target is None:
        bad("RB043", f"no step {target_id!r} exists" + suggest(str(target_id), sorted(steps)))
        return
    if len(parts) > 1 and parts[1] not in STEP_FIELDS:
        bad(
            "RB041",
            f"steps.{target_id} has no field {parts[1]!r}"
            + suggest(str(parts[1]), list(STEP_FIELDS)),
        )
        return
    if len(parts) > 2 and parts[1] == "outputs":
        name = parts[2]
        if target.output(str(name)) is None:
            declared = [o.name for o in target.outputs]
            bad(
                "RB044",
                f"step {target_id!r} has no output {name!r}"
                + (suggest(str(name), declared) if declared else "; it declares no outputs"),
            )
            return
        ctx.used_outputs.add((target.id, str(name)))
    reader = scope.step
    if reader is None or ctx.ancestry is None:
        return  # KPIs read after the run; cycles are reported already
    if target.id == reader.id:
        if not scope.include_self:
            bad(
                "RB045",
                f"step {reader.id!r} cannot read its own outputs here; "
                "use 'result' inside outputs:",
            )
        return
    if not ctx.ancestry.is_ancestor(target.id, reader.id):
        bad("RB045", _not_an_ancestor(ctx, ctx.ancestry, target.id, reader.id))


def _not_an_ancestor(ctx: CheckContext, ancestry: Ancestry, target: str, reader: str) -> str:
    """RB045's message, naming the step whose depends_on most likely lost an entry."""
    problem = f"step {target!r} may not have run yet"
    link = ancestry.missing_link(ctx.runbook.graph, target, reader)
    if link is None:
        return (
            f"{problem}: add it to the depends_on of {reader!r} "
            "(directly, or through a step that depends on it)"
        )
    loose, step = link
    where = f"the first step after it that {reader!r} waits for"
    if loose == target:
        return (
            f"{problem}: nothing depends on it; add it to the depends_on of {step!r} "
            f"({where}), or of {reader!r}"
        )
    return (
        f"{problem}: it leads to {loose!r}, on which nothing depends; add {loose!r} to the "
        f"depends_on of {step!r} ({where}), or {target!r} to that of {reader!r}"
    )


def _own_output(ctx: CheckContext, parts: tuple[str | int, ...], scope: Scope, bad: Any) -> None:
    step = scope.step
    if not scope.own_outputs or step is None:
        bad(
            "RB041",
            "'outputs' exists only in a step's summary:; elsewhere read steps.ID.outputs.NAME",
        )
        return
    if not parts:
        return
    name = str(parts[0])
    if step.output(name) is None:
        declared = [o.name for o in step.outputs]
        bad(
            "RB044",
            f"step {step.id!r} has no output {name!r}"
            + (suggest(name, declared) if declared else "; it declares no outputs"),
        )
        return
    ctx.used_outputs.add((step.id, name))


def _jsonpath(ctx: CheckContext, path: DataPath, query: str, step: Step) -> None:
    import jsonpath_rfc9535 as jsonpath

    try:
        compiled = jsonpath.compile(query)
    except jsonpath.JSONPathError as exc:
        index = getattr(getattr(exc, "token", None), "index", 0) or 0
        message = str(exc).split(", line ")[0]
        ctx.report_in_string(
            path, index, "RB047", f"step {step.id!r} output: invalid JSONPath {query!r}: {message}"
        )
        return
    step_type = ctx.step_types.get(step.type)
    if step_type is not None and step_type.query_field is not None:
        problem = old_shape_problem(query, step_type)
        if problem is not None:
            code, message = problem
            ctx.report(path, code, f"step {step.id!r} output {query!r}: {message}")
        return  # a response body has no fixed fields to check against
    fields = step_type.result_fields if step_type else None
    first = _first_name(compiled)
    if fields and first is not None and first not in fields:
        hint = suggest(first, list(fields))
        ctx.report(
            path,
            "RB064",
            f"step {step.id!r} output {query!r}: {step.type} results have fields "
            f"{', '.join(fields)}, not {first!r}{hint}",
        )


def _first_name(compiled: Any) -> str | None:
    """The name selected by the query's first segment, if it is a plain name."""
    segments = getattr(compiled, "segments", ())
    if not segments or type(segments[0]).__name__ != "JSONPathChildSegment":
        return None
    selectors: Any = getattr(segments[0], "selectors", ())
    if len(selectors) != 1:
        return None
    name = getattr(selectors[0], "name", None)
    return name if isinstance(name, str) else None
