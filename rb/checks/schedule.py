"""The runbook's `schedule:`: cron, time zone, params and catch_up (docs/scheduling.md).

A schedule is read by workers long after `rb validate` ran, so everything a
worker would trip on is checked here: the cron expression (five fields that
fire at some time), the time zone, the parameters a scheduled run gets, and
the catch_up window. croniter and zoneinfo are imported only for runbooks
that have a schedule.
"""

from __future__ import annotations

from typing import Any

from rb import jsonschema_check
from rb.checks.context import CheckContext
from rb.policies import Schedule
from rb.wording import plural

CRON, TIMEZONE, PARAMS, CATCH_UP = "RB076", "RB077", "RB078", "RB079"
CRON_FIELDS = "minute hour day-of-month month day-of-week"


def check_schedule(ctx: CheckContext) -> None:
    """Report the parts of a `schedule:` block a worker could not use."""
    schedule = ctx.runbook.schedule
    if schedule is None:
        return
    problem = cron_problem(schedule.cron)
    if problem:
        ctx.report(("schedule", "cron"), CRON, problem)
    problem = timezone_problem(schedule.timezone)
    if problem and _given(ctx, "timezone"):
        ctx.report(("schedule", "timezone"), TIMEZONE, problem)
    if schedule.catch_up_seconds is None and _given(ctx, "catch_up"):
        ctx.report(
            ("schedule", "catch_up"),
            CATCH_UP,
            f"catch_up {schedule.catch_up!r} is not a duration; "
            "write a whole number and a unit: 90s, 30m, 24h or 7d",
        )
    _check_params(ctx, schedule)


def cron_problem(cron: str) -> str | None:
    """Why `cron` is not a usable five-field expression, or None."""
    from croniter import CroniterBadCronError, CroniterBadDateError, croniter

    fields = cron.split()
    if len(fields) != 5:
        return (
            f"cron {cron!r} has {plural(len(fields), 'field')}; "
            f'write five ({CRON_FIELDS}), as in "*/15 * * * *"'
        )
    try:
        # A fixed start keeps the answer the same whenever validation runs.
        croniter(cron, 946684800).get_next(float)  # 2000-01-01T00:00:00Z
    except CroniterBadCronError as exc:
        why = str(exc).split("is not acceptable, ")[-1]
        return f"cron {cron!r} is not valid: {why} (fields: {CRON_FIELDS})"
    except CroniterBadDateError:
        return f"cron {cron!r} never fires (a day that no month has?); check the date fields"
    return None


def timezone_problem(name: str) -> str | None:
    """Why `name` is not a time zone rb can load, or None."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return (
            f"unknown time zone {name!r}; use an IANA name such as UTC, "
            "Europe/Berlin or America/New_York"
        )
    return None


def _given(ctx: CheckContext, key: str) -> bool:
    raw = ctx.runbook.source.data.get("schedule")
    return isinstance(raw, dict) and key in raw


def _check_params(ctx: CheckContext, schedule: Schedule) -> None:
    """The params as `--param` values would be checked: names, types, required ones."""
    declared = {p.name: p for p in ctx.runbook.parameters}
    at = ("schedule", "params")
    given: dict[str, Any] = dict(schedule.params)
    for name, value in given.items():
        param = declared.get(name)
        if param is None:
            hint = jsonschema_check.suggest(name, sorted(declared))
            ctx.report(
                (*at, name),
                PARAMS,
                f"the schedule passes {name!r}, which is not a parameter of the runbook{hint}",
                key=True,
            )
            continue
        ctx.diagnostics.extend(
            jsonschema_check.check(
                param.schema,
                value,
                ctx.runbook.source,
                (*at, name),
                code=PARAMS,
                where=f"scheduled value of parameter {name!r}",
                user=True,
            )
        )
    missing = [p.name for p in ctx.runbook.parameters if not p.has_default and p.name not in given]
    if missing:
        where = at if _given(ctx, "params") else ("schedule",)
        names = ", ".join(repr(n) for n in missing)
        several = len(missing) > 1
        ctx.report(
            where,
            PARAMS,
            f"the schedule does not pass required {'parameters' if several else 'parameter'} "
            f"{names}; add {'them' if several else 'it'} to schedule.params",
            key=True,
        )
