"""Warnings: things that run, but are probably not what the author meant."""

from __future__ import annotations

from rb.checks.context import CheckContext
from rb.model import OutputKind


def check_unused(ctx: CheckContext) -> None:
    """Outputs nobody reads (except on final steps) and parameters nobody uses.

    Outputs of steps that no other step depends on are the runbook's results
    (compared with expected/ by `rb test`), so they count as read.
    """
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
