"""Warnings: things that run, but are probably not what the author meant."""

from __future__ import annotations

from rb.checks.context import CheckContext
from rb.graph import critical_path
from rb.model import OutputKind


def check_unused(ctx: CheckContext) -> None:
    """Outputs a step's dependents surely meant to read, and parameters nobody uses.

    Every output is recorded and compared with the golden file, so an output
    nothing reads is a result, not a mistake: a final step's outputs, or
    `errors` beside a `valid` that the next step takes. It is surely a mistake
    when a step that others depend on declares outputs and nothing (no step,
    KPI or summary) reads any of them: its dependents take nothing from it.
    When an expression could not be parsed its reads are unknown, so nothing
    is warned.
    """
    if any(d.code == "RB040" for d in ctx.diagnostics):
        return
    dependents: dict[str, list[str]] = {}
    for step in ctx.runbook.steps:
        for dep in step.depends_on:
            dependents.setdefault(dep, []).append(step.id)
    for step in ctx.runbook.steps:
        computed = [o.name for o in step.outputs if o.kind is not OutputKind.LITERAL]
        if (
            step.id not in dependents
            or not computed
            or any((step.id, name) in ctx.used_outputs for name in computed)
        ):
            continue
        readers = ", ".join(repr(sid) for sid in dependents[step.id])
        names = ", ".join(repr(name) for name in computed)
        ctx.report(
            (*step.path, "outputs", computed[0]),
            "RB060",
            f"step {step.id!r} declares outputs ({names}) but nothing reads any of them, "
            f"though {readers} depend{'s' if len(dependents[step.id]) == 1 else ''} on it; "
            f"read them there (${{steps.{step.id}.outputs.{computed[0]}}}) or remove them",
            key=True,
        )
    for param in ctx.runbook.parameters:
        if param.name not in ctx.used_parameters:
            ctx.report(
                ("parameters", param.name),
                "RB061",
                f"parameter {param.name!r} is never used; remove it or read it as "
                f"${{params.{param.name}}}",
                key=True,
            )


def check_timeouts_cover_waits(ctx: CheckContext) -> None:
    """A step timeout shorter than the wait the step is told to do."""
    raw_steps = ctx.runbook.source.data["steps"]
    for step in ctx.runbook.steps:
        step_type = ctx.step_types.get(step.type)
        if step_type is None or step.timeout_seconds is None:
            continue
        for name in sorted(step_type.duration_inputs):
            value = step.inputs.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if value > step.timeout_seconds:
                origin = "" if "timeout_seconds" in raw_steps[step.index] else " (from defaults)"
                ctx.report(
                    (*step.path, "inputs", name),
                    "RB065",
                    f"step {step.id!r} may wait {value:g}s (inputs.{name}) but its "
                    f"timeout_seconds is {step.timeout_seconds:g}s{origin}, which cancels it "
                    f"first; set the step's timeout_seconds above {value:g}",
                )


def check_kpi_duration(ctx: CheckContext) -> None:
    """max_duration_seconds below the timeouts on the critical path, one attempt each.

    Retries are left out on purpose: a run that needed them has failed
    attempts, and a KPI that such a run misses is a choice, not a mistake (the
    seed's own runbook makes it). `rb graph` shows the path with retries.
    """
    kpi = next((k for k in ctx.runbook.kpis if k.name == "max_duration_seconds"), None)
    if kpi is None or kpi.threshold is None or ctx.ancestry is None:
        return
    steps = ctx.steps
    if not any(s.timeout_seconds for s in steps.values()):
        return
    total, path = critical_path(
        ctx.runbook.graph, ctx.ancestry.order, lambda sid: float(steps[sid].timeout_seconds or 0)
    )
    if total > kpi.threshold:
        ctx.report(
            ("kpis", "max_duration_seconds"),
            "RB063",
            f"KPI max_duration_seconds is {kpi.threshold:g}s but the timeouts on the chain "
            f"{' → '.join(path)} add up to {total:g}s; raise the KPI or lower the timeouts",
            key=True,
        )
