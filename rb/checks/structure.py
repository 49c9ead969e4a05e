"""Step ids, dependencies, cycles, step types and their inputs."""

from __future__ import annotations

from rb import jsonschema_check
from rb.checks.context import CheckContext
from rb.graph import Ancestry, cycles
from rb.jsonschema_check import suggest
from rb.model import FOR_EACH_LIMIT


def check_ids_and_dependencies(ctx: CheckContext) -> None:
    """Duplicate ids, unknown, self and redundant dependencies, cycles; sets `ctx.ancestry`."""
    seen: set[str] = set()
    for step in ctx.runbook.steps:
        if step.id in seen:
            ctx.report(
                (*step.path, "id"),
                "RB030",
                f"duplicate step id {step.id!r}: every step needs its own id",
            )
        seen.add(step.id)
    ids = sorted(seen)
    for step in ctx.runbook.steps:
        for i, dep in enumerate(step.depends_on):
            at = (*step.path, "depends_on", i)
            if dep == step.id:
                ctx.report(at, "RB032", f"step {step.id!r} depends on itself; remove {dep!r}")
            elif dep not in seen:
                ctx.report(
                    at,
                    "RB031",
                    f"step {step.id!r} depends on {dep!r}, which does not exist"
                    + suggest(dep, [s for s in ids if s != step.id]),
                )
    graph = ctx.runbook.graph
    found = cycles(graph)
    for cycle in found:
        dep, sid = cycle.remove
        step = ctx.steps[sid]
        ctx.report(
            (*step.path, "depends_on", step.depends_on.index(dep)),
            "RB033",
            f"dependency cycle: {' → '.join(cycle.steps)}; remove {dep!r} from the "
            f"depends_on of {sid!r}, the entry that closes it",
        )
    if found:
        return
    ctx.ancestry = Ancestry.of(graph)
    for dep, sid, via in ctx.ancestry.redundant(graph):
        step = ctx.steps[sid]
        ctx.report(
            (*step.path, "depends_on", step.depends_on.index(dep)),
            "RB070",
            f"step {sid!r} depends on {dep!r} already through {via!r}; "
            f"remove {dep!r} from its depends_on",
        )


def check_types_and_inputs(ctx: CheckContext) -> None:
    """Step types exist; inputs satisfy each type's input schema."""
    known = sorted(ctx.step_types)
    for step in ctx.runbook.steps:
        parts = [(step.path, step.type, step.inputs, f"step {step.id!r}")]
        if step.rollback is not None:
            parts.append(
                (
                    (*step.path, "rollback"),
                    step.rollback.type,
                    step.rollback.inputs,
                    f"rollback of step {step.id!r}",
                )
            )
        for path, type_name, inputs, where in parts:
            step_type = ctx.step_types.get(type_name)
            if step_type is None:
                ctx.report(
                    (*path, "type"),
                    "RB020",
                    f"{where} has unknown type {type_name!r}{suggest(type_name, known)}",
                )
                continue
            ctx.diagnostics.extend(
                jsonschema_check.check(
                    step_type.input_schema,
                    dict(inputs),
                    ctx.runbook.source,
                    (*path, "inputs"),
                    code="RB021",
                    where=f"{where} inputs",
                    expressions=True,
                )
            )
        if isinstance(step.for_each, list) and len(step.for_each) > FOR_EACH_LIMIT:
            ctx.report(
                (*step.path, "for_each"),
                "RB049",
                f"step {step.id!r} for_each has {len(step.for_each)} items; the hard limit is "
                f"{FOR_EACH_LIMIT}: split the list or process items in batches",
            )
