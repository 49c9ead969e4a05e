"""Warnings: things that run, but are probably not what the author meant."""

from __future__ import annotations

from rb.checks.context import CheckContext
from rb.model import OutputKind


def check_unused(ctx: CheckContext) -> None:
    """Outputs nobody reads (except on final steps) and parameters nobody uses.

    Outputs of steps that no other step depends on are the runbook's results
    (compared with expected/ by `rb test`), so they count as read. When an
    expression could not be parsed its reads are unknown, so nothing is warned.
    """
    if any(d.code == "RB040" for d in ctx.diagnostics):
        return
    has_dependents = {dep for step in ctx.runbook.steps for dep in step.depends_on}
    for step in ctx.runbook.steps:
        if step.id not in has_dependents:
            continue
        for out in step.outputs:
            if out.kind is OutputKind.LITERAL or (step.id, out.name) in ctx.used_outputs:
                continue
            ctx.report(
                (*step.path, "outputs", out.name),
                "RB060",
                f"output {out.name!r} of step {step.id!r} is never read; remove it or use it",
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
    """max_duration_seconds below the timeouts on the slowest dependency chain."""
    kpi = next((k for k in ctx.runbook.kpis if k.name == "max_duration_seconds"), None)
    if kpi is None or kpi.threshold is None or ctx.dag is None:
        return
    steps = ctx.steps
    if not any(s.timeout_seconds for s in steps.values()):
        return
    total, path = ctx.dag.longest_path(lambda sid: float(steps[sid].timeout_seconds or 0))
    if total > kpi.threshold:
        ctx.report(
            ("kpis", "max_duration_seconds"),
            "RB063",
            f"KPI max_duration_seconds is {kpi.threshold:g}s but the timeouts on the chain "
            f"{' → '.join(path)} add up to {total:g}s; raise the KPI or lower the timeouts",
            key=True,
        )
