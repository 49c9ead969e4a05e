"""Checking a scenario's expectations: against the runbook before running, and
against the run after it.

Before: every step, output and KPI a pack names must exist in the runbook
(a typo is a file:line:col error, not a scenario that can never pass).
After: each expectation gives a Verdict that says what the run showed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from rb.acceptance import observed
from rb.acceptance.observed import SCREENSHOT_TYPE, screenshot_step
from rb.acceptance.pack import ALL_KPIS_MET, Expectation, Kind, Pack, notification_text
from rb.diagnostics import Diagnostic
from rb.engine.outcome import ExecutionResult
from rb.jsonschema_check import suggest
from rb.model import Runbook
from rb.report import short


@dataclass(frozen=True)
class Verdict:
    """One expectation, checked: whether it held and what the run showed."""

    expectation: Expectation
    ok: bool
    actual: str
    where: str  # file:line:col of the expectation in the pack

    def text(self) -> str:
        """`file:line:col: key: expected X, got Y`."""
        e = self.expectation
        return f"{self.where}: {e.key}: expected {e.want}, got {self.actual}"


def check_references(pack: Pack, runbook: Runbook) -> list[Diagnostic]:
    """Steps, outputs and KPIs the pack names that the runbook does not have."""
    steps = {s.id: s for s in runbook.steps}
    kpis = observed.kpi_names(runbook)
    problems = []
    for scenario in pack.scenarios:
        for e in scenario.expected.checks:
            if e.kind is Kind.SCREENSHOT:
                if screenshot_step(runbook, e.subject[0]) is None:
                    shots = [s.id for s in runbook.steps if s.type == SCREENSHOT_TYPE]
                    problems.append(
                        pack.diagnostic(
                            e.path,
                            f"{runbook.id} has no step {e.subject[0]!r}, and a baseline name "
                            f"needs exactly one ui_screenshot step (it has "
                            f"{len(shots)}{': ' + ', '.join(shots) if shots else ''}); "
                            "key the baseline by its step id",
                        )
                    )
            elif e.kind in (Kind.STEP, Kind.OUTPUT):
                sid = e.subject[0]
                step = steps.get(sid)
                if step is None:
                    at = e.path[:-1] if e.kind is Kind.OUTPUT else e.path
                    hint = suggest(sid, list(steps))
                    problems.append(pack.diagnostic(at, f"{runbook.id} has no step {sid!r}{hint}"))
                elif e.kind is Kind.OUTPUT and step.output(e.subject[1]) is None:
                    name = e.subject[1]
                    hint = suggest(name, [o.name for o in step.outputs])
                    problems.append(
                        pack.diagnostic(e.path, f"step {sid!r} has no output {name!r}{hint}")
                    )
            elif e.kind is Kind.KPIS_BREACHED:
                declared = [k.name for k in runbook.kpis]
                problems += [
                    pack.diagnostic(
                        e.path,
                        f"{runbook.id} declares no KPI {name!r}{suggest(name, declared)}",
                        key=False,
                    )
                    for name in e.want.value
                    if name not in declared
                ]
            elif e.kind is Kind.NOTIFICATIONS:
                problems += _unknown_notifications(pack, e, runbook)
            elif e.kind is Kind.KPI and e.subject[0] not in kpis:
                name = e.subject[0]
                problems.append(
                    pack.diagnostic(
                        e.path,
                        f"{runbook.id} has no KPI or published metric {name!r}"
                        f"{suggest(name, kpis)}",
                    )
                )
    return problems


def _unknown_notifications(pack: Pack, e: Expectation, runbook: Runbook) -> list[Diagnostic]:
    """Expected notifications the runbook's notify: can never send."""
    problems = []
    for i, (event, to) in enumerate(e.want.value):
        targets = [t for n in runbook.notify if event in n.events for t in n.to]
        if not targets:
            problems.append(
                pack.diagnostic(
                    (*e.path, i, "event"),
                    f"{runbook.id} sends no notification on {event} (see its notify:)",
                    key=False,
                )
            )
        elif to is not None and to not in targets:
            problems.append(
                pack.diagnostic(
                    (*e.path, i, "to"),
                    f"{runbook.id} does not notify {to!r} on {event}; its targets for it: "
                    f"{', '.join(targets)}",
                    key=False,
                )
            )
    return problems


def check_run(
    pack: Pack,
    checks: tuple[Expectation, ...],
    runbook: Runbook,
    result: ExecutionResult,
    notifications: tuple[tuple[str, str], ...] = (),
) -> tuple[Verdict, ...]:
    """Every expectation of one scenario against its finished run (and the
    (event, channel) of each notification it recorded)."""
    kpis = observed.kpi_values(runbook, result)
    errors = observed.run_errors(runbook, result)
    verdicts = []
    for e in checks:
        if e.kind is Kind.SCREENSHOT:  # a baseline's name stands for its step
            step = screenshot_step(runbook, e.subject[0]) or e.subject[0]
            e = dataclasses.replace(e, subject=(step,))
        if e.kind is Kind.NOTIFICATIONS:
            ok, actual = _check_notifications(e, notifications)
            verdicts.append(Verdict(e, ok, actual, pack.where(e.path)))
            continue
        ok, actual = _check(e, result, kpis, errors)
        verdicts.append(Verdict(e, ok, actual, pack.where(e.path)))
    return tuple(verdicts)


def _check(
    e: Expectation,
    result: ExecutionResult,
    kpis: dict[str, float],
    errors: tuple[observed.RunError, ...],
) -> tuple[bool, str]:
    if e.kind is Kind.STATUS:
        # The procedure's status; unless the scenario states `kpis_breached`,
        # success also needs every KPI measured and met, so neither a breach nor
        # an unmeasured KPI passes unseen.
        ok = e.want.holds(result.status)
        if e.subject == ALL_KPIS_MET:
            ok = ok and all(k.ok for k in result.kpis)
        failed = result.error and result.status != "success"
        why = f" ({result.error.splitlines()[0]})" if failed else ""
        return ok, result.status_text + why
    if e.kind is Kind.KPIS_BREACHED:
        breached = sorted(result.kpis_breached)
        return e.want.holds(breached), ", ".join(breached) or "none"
    if e.kind is Kind.KPI:
        value = kpis.get(e.subject[0])
        return e.want.holds(value), "nothing (not measured)" if value is None else f"{value:g}"
    if e.kind is Kind.ERROR_COUNT:
        return e.want.holds(len(errors)), _count(errors)
    if e.kind is Kind.ERROR_TYPES:
        types = sorted({err.type for err in errors})
        return e.want.holds(types), ", ".join(types) or "no errors"
    outcome = result.steps.get(e.subject[0]) if e.subject else None
    if e.kind is Kind.STEP:
        state = observed.step_state(outcome) if outcome else "absent"
        wanted = observed.RAN if e.want.value == "ran" else (e.want.value,)
        return state in wanted, observed.describe_step(outcome)
    if e.kind is Kind.OUTPUT:
        if outcome is None or outcome.status != "succeeded":
            return False, f"no outputs: the step {observed.describe_step(outcome)}"
        name = e.subject[1]
        if name not in outcome.outputs:
            return False, f"no output {name!r}"
        value = result.mask(outcome.outputs)[name]
        return e.want.holds(value), short(value)
    if e.kind is Kind.SCREENSHOT:
        from rb.acceptance.screenshots import compare_with_baseline

        return compare_with_baseline(outcome, Path(e.want.value))
    return _golden(result, Path(e.want.value))


def _check_notifications(e: Expectation, sent: tuple[tuple[str, str], ...]) -> tuple[bool, str]:
    """Each expected notification is there, and there is none the pack does not expect."""
    wanted: list[tuple[str, str | None]] = e.want.value
    missing = [w for w in wanted if not any(_matches(w, s) for s in sent)]
    unexpected = [s for s in sent if not any(_matches(w, s) for w in wanted)]
    actual = ", ".join(notification_text(event, to) for event, to in sent) or "none"
    return not missing and not unexpected, actual


def _matches(wanted: tuple[str, str | None], sent: tuple[str, str]) -> bool:
    event, to = wanted
    return event == sent[0] and (to is None or to == sent[1])


def _count(errors: tuple[observed.RunError, ...]) -> str:
    if not errors:
        return "0"
    by_type: dict[str, int] = {}
    for err in errors:
        by_type[err.type] = by_type.get(err.type, 0) + 1
    return f"{len(errors)} ({', '.join(f'{n} {t}' for t, n in sorted(by_type.items()))})"


def _golden(result: ExecutionResult, path: Path) -> tuple[bool, str]:
    from rb.report import compare_golden

    golden = compare_golden(result, path, update=False)
    if not golden.exists:
        return False, f"no file {path}"
    if golden.ok:
        return True, "equal outputs"
    count = len(golden.differences)
    return False, f"{count} difference{'s' if count > 1 else ''}, first {golden.differences[0]}"
