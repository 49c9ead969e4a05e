"""Running acceptance packs: prepare everything first, then run each scenario.

Preparing loads the runbook (every static check), each scenario's fixture and
the pack's references to steps, outputs and KPIs, so a broken pack stops
with file:line:col before any scenario has run (exit 2). Each scenario then
runs exactly as `rb test` runs a fixture: virtual time, nothing leaves the
machine, recorded unless told not to.
"""

from __future__ import annotations

from dataclasses import dataclass

from rb.acceptance.expectations import Verdict, check_references, check_run
from rb.acceptance.observed import RunError, run_errors
from rb.acceptance.pack import Pack, PackError
from rb.diagnostics import Diagnostic
from rb.engine.outcome import ExecutionResult
from rb.engine.params import resolve_params
from rb.errors import UsageError
from rb.model import Runbook
from rb.world.fixture_format import Fixture, load_fixture


@dataclass(frozen=True)
class Prepared:
    """A pack whose runbook, fixtures and references have all been checked."""

    pack: Pack
    runbook: Runbook
    fixtures: tuple[Fixture, ...]  # one per scenario, in order


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's run and the verdict on each of its expectations."""

    name: str
    fixture: str
    result: ExecutionResult
    verdicts: tuple[Verdict, ...]
    errors: tuple[RunError, ...]  # what `errors:` expectations counted
    execution_id: str | None = None  # the recorded run (None when not recorded)

    @property
    def passed(self) -> bool:
        return all(v.ok for v in self.verdicts)

    @property
    def failures(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.ok)


@dataclass(frozen=True)
class PackResult:
    pack: Pack
    scenarios: tuple[ScenarioResult, ...]

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.scenarios)


@dataclass(frozen=True)
class RunOptions:
    """How scenarios run: as `rb test` runs, recorded unless `record` is off."""

    record: bool = True
    db: str | None = None
    actor: str | None = None
    max_parallel: int | None = None


def prepare(pack: Pack) -> Prepared:
    """Load the pack's runbook and fixtures and check its references.

    Raises RunbookError (the runbook has errors), UsageError (no such runbook,
    an invalid fixture) or PackError (the pack names what does not exist).
    """
    from rb.service.runbooks import load_valid_runbook

    try:
        runbook = load_valid_runbook(pack.runbook_id)
    except UsageError as exc:
        raise UsageError(
            f"{pack.path}: the pack's folder names runbook {pack.runbook_id!r}: {exc}"
        ) from None
    fixtures = tuple(load_fixture(s.fixture) for s in pack.scenarios)
    for scenario, fixture in zip(pack.scenarios, fixtures, strict=True):
        try:  # the fixture's params, checked as each run will check them
            resolve_params(runbook, fixture.params, from_text=False)
        except UsageError as exc:
            raise UsageError(
                f"fixture {scenario.fixture} (scenario {scenario.name!r}): {exc}"
            ) from None
    problems = check_references(pack, runbook)
    problems += _fixtures_for_other_runbooks(pack, fixtures)
    if problems:
        raise PackError(problems)
    return Prepared(pack, runbook, fixtures)


def _fixtures_for_other_runbooks(pack: Pack, fixtures: tuple[Fixture, ...]) -> list[Diagnostic]:
    # A fixture copied from another runbook's pack fails in confusing ways
    # (unmatched requests); its informational `runbook:` says so up front.
    return [
        pack.diagnostic(
            (*s.path, "fixture"),
            f"fixture {s.fixture} is for runbook {f.runbook!r}, not {pack.runbook_id!r}",
            key=False,
        )
        for s, f in zip(pack.scenarios, fixtures, strict=True)
        if f.runbook and f.runbook != pack.runbook_id
    ]


def run_pack(prepared: Prepared, options: RunOptions = RunOptions()) -> PackResult:
    """Run every scenario of a prepared pack, in order."""
    from rb.service.request import Recording
    from rb.service.runner import execute, fixture_request

    pack, runbook = prepared.pack, prepared.runbook
    results = []
    for scenario, fixture in zip(pack.scenarios, prepared.fixtures, strict=True):
        request = fixture_request(
            runbook,
            fixture,
            max_parallel=options.max_parallel,
            recording=Recording(db=options.db) if options.record else None,
            actor=options.actor,
        )
        ran = execute(request)
        result = ran.result
        sent = tuple((n.event, n.channel) for n in ran.notifications)
        verdicts = check_run(pack, scenario.expected.checks, runbook, result, sent)
        errors = run_errors(runbook, result)
        results.append(
            ScenarioResult(
                scenario.name, str(scenario.fixture), result, verdicts, errors, ran.execution_id
            )
        )
    return PackResult(pack, tuple(results))
