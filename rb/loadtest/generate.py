"""A k6 script for a runbook, as `rb loadtest generate` writes it (no files written here)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from pathlib import Path

from rb.loadtest.script import ExecuteRequest, Load, Thresholds

OUTPUT_DIR = Path("loadtests")


@dataclass(frozen=True)
class GenerateOptions:
    """The options of `rb loadtest generate` that shape a script."""

    scenario: str | None = None
    stages: str | None = None
    vus: int | None = None
    duration: str | None = None
    iterations: int | None = None
    p95_ms: float = 2000.0
    p99_ms: float | None = None
    max_error_rate: float = 0.05
    live: bool = False  # no fixture: rb serve runs the runbook live
    enqueue: bool = False  # "wait": false, 202 expected: the queue's answer (docs/scaling.md)

    def command(self, runbook_id: str, output: str | None) -> str:
        """The `rb loadtest generate` command line that writes this script again."""
        args = ["rb", "loadtest", "generate", runbook_id]
        defaults = GenerateOptions()
        for name in (
            "scenario",
            "stages",
            "vus",
            "duration",
            "iterations",
            "p95_ms",
            "p99_ms",
            "max_error_rate",
        ):
            value = getattr(self, name)
            if value is not None and value != getattr(defaults, name):
                flag = "--" + name.replace("_", "-")
                args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        if self.live:
            args.append("--live")
        if self.enqueue:
            args.append("--enqueue")
        if output is not None and output != "-":
            args += ["-o", output]
        return shlex.join(args)


@dataclass(frozen=True)
class Rendered:
    """One generated script, and what went into it."""

    runbook_id: str
    target: Path | None  # None: written to stdout
    text: str
    request: ExecuteRequest
    load: Load
    thresholds: Thresholds
    note: str | None  # why the request is not from an acceptance pack (--live)


def render_script(
    runbook: str, options: GenerateOptions | None = None, output: str | None = None
) -> Rendered:
    """The k6 script for `runbook` (a path or id), as `rb loadtest generate` writes it.

    `output` is where it will go (None: loadtests/<runbook-id>.js, "-": stdout).
    Bad options, runbooks with errors, unknown scenarios and a runbook without
    an acceptance pack (unless `options.live`) raise UsageError or RunbookError
    (exit 2).
    """
    from rb.loadtest.script import ScriptSpec, render, request_for
    from rb.service.runbooks import load_valid_runbook

    options = options or GenerateOptions()
    load = Load.from_options(
        stages=options.stages,
        vus=options.vus,
        duration=options.duration,
        iterations=options.iterations,
    )
    thresholds = Thresholds(
        p95_ms=options.p95_ms, p99_ms=options.p99_ms, max_error_rate=options.max_error_rate
    )
    book = load_valid_runbook(runbook)
    request, note = request_for(book, options.scenario, live=options.live)
    if options.enqueue:
        request = replace(request, enqueue=True)
    target = None if output == "-" else Path(output or OUTPUT_DIR / f"{book.id}.js")
    spec = ScriptSpec(
        request=request,
        runbook_name=book.name,
        load=load,
        thresholds=thresholds,
        command=options.command(book.id, output),
        script=target.as_posix() if target is not None else "",
    )
    return Rendered(book.id, target, render(spec), request, load, thresholds, note)
