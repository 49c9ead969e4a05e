"""`rb acceptance coverage [PATHS...]`: which dependencies and failure paths the packs exercise."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from rb.acceptance.coverage import Coverage, coverage
from rb.acceptance.pack import Pack, PackError, load_pack, pack_paths
from rb.acceptance.runner import prepare
from rb.diagnostics import Diagnostic
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.report import dumps


def acceptance_coverage(
    targets: Sequence[str],
    *,
    minimum: float | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Report each pack's coverage of its runbook; exit 1 when one is below `minimum` percent.

    Packs are read and checked as `rb acceptance` checks them (exit 2 on a
    broken one); no scenario runs.
    """
    out, err = out or sys.stdout, err or sys.stderr
    packs: list[Pack] = []
    problems: list[Diagnostic] = []
    for path in pack_paths(targets):
        try:
            packs.append(load_pack(path))
        except PackError as exc:  # every broken pack at once, not the first
            problems.extend(exc.diagnostics)
    if problems:
        raise PackError(problems)
    results = [coverage(p.runbook, p.pack, p.fixtures) for p in map(prepare, packs)]
    if output_format == "json":
        out.write(dumps(_document(results, minimum)))
    else:
        out.write("".join(line + "\n" for line in text_lines(results)))
    short = below(results, minimum)
    for line in short:
        err.write(f"rb: {line}\n")
    return EXIT_FAILED if short else EXIT_OK


def below(results: Sequence[Coverage], minimum: float | None) -> list[str]:
    """One line per runbook whose dependency or path coverage is under `minimum` percent."""
    if minimum is None:
        return []
    lines = []
    for c in results:
        for what, pct in (
            ("dependencies", c.dependency_percent),
            ("failure paths", c.path_percent),
        ):
            if pct < minimum:
                missing = (
                    [d.dependency.key for d in c.dependencies if not d.covered]
                    if what == "dependencies"
                    else [f"{p.step} {p.path}" for p in c.paths if not p.covered]
                )
                lines.append(
                    f"{c.runbook}: {what} {_pct(pct)} is below --min {_pct(minimum)}; "
                    f"no scenario exercises: {'; '.join(missing)} "
                    f"(add failure scenarios to {c.pack})"
                )
    return lines


def _document(results: Sequence[Coverage], minimum: float | None) -> dict[str, object]:
    return {
        "runbooks": [c.to_json() for c in results],
        "min": minimum,
        "passed": not below(results, minimum),
    }


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def text_lines(results: Sequence[Coverage]) -> list[str]:
    """The report: per runbook, each dependency and failure path, covered (✓) or not (✗)."""
    lines: list[str] = []
    for c in results:
        covered_deps = sum(d.covered for d in c.dependencies)
        covered_paths = sum(p.covered for p in c.paths)
        lines.append(f"{c.runbook} ({c.pack})")
        lines.append(
            f"  dependencies exercised: {covered_deps}/{len(c.dependencies)} "
            f"({_pct(c.dependency_percent)})"
        )
        for d in c.dependencies:
            mark = "✓" if d.covered else "✗"
            kinds = sorted({f.fault for f in d.faults})
            scenarios = len({f.scenario for f in d.faults})
            how = f": {', '.join(kinds)} in {scenarios} scenario" + ("s" if scenarios > 1 else "")
            steps = ", ".join(d.dependency.steps)
            lines.append(f"    {mark} {d.dependency.key} [{steps}]" + (how if d.covered else ""))
        lines.append(
            f"  failure paths driven: {covered_paths}/{len(c.paths)} ({_pct(c.path_percent)})"
        )
        for p in c.paths:
            mark = "✓" if p.covered else "✗"
            how = f": {', '.join(p.scenarios)}" if p.covered else ""
            lines.append(f"    {mark} {p.step} {p.path}{how}")
    total_deps = sum(len(c.dependencies) for c in results)
    total_paths = sum(len(c.paths) for c in results)
    done_deps = sum(d.covered for c in results for d in c.dependencies)
    done_paths = sum(p.covered for c in results for p in c.paths)
    lines.append(
        f"{len(results)} runbook{'s' if len(results) != 1 else ''}: "
        f"{done_deps}/{total_deps} dependencies exercised, "
        f"{done_paths}/{total_paths} failure paths driven"
    )
    return lines
