"""`rb loadtest generate` and `rb loadtest run` (k6 load tests of rb serve).

Only options here: the work (jinja2, subprocesses) is imported when a
subcommand runs, so `rb --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rb.cli.completion import complete_runbook
from rb.cli.options import FormatOption, guard, path_text

loadtest_app = typer.Typer(
    help="Generate k6 scripts that load rb serve's execution API with a runbook's "
    "acceptance scenario, and run them with the real k6 binary.",
    short_help="generate and run k6 load tests of rb serve",
)


@loadtest_app.command("generate", short_help="write a k6 script for a runbook")
@guard
def generate(
    runbooks: Annotated[
        list[str],
        typer.Argument(
            metavar="RUNBOOK",
            help="runbook files or ids under runbooks/ (one script each)",
            autocompletion=complete_runbook,
        ),
    ],
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            metavar="NAME",
            help="acceptance scenario to send (default: the first that expects success)",
        ),
    ] = None,
    stages: Annotated[
        str | None,
        typer.Option(
            "--stages",
            metavar="D:N,...",
            help="ramp: DURATION:TARGET pairs, e.g. 30s:10,1m:50,30s:0",
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="send the parameter defaults and no fixture, so rb serve runs the runbook "
            "live against the real services (needed for a runbook without an acceptance pack)",
        ),
    ] = False,
    enqueue: Annotated[
        bool,
        typer.Option(
            "--enqueue",
            help='send "wait": false and expect 202 with the execution queued: the load on '
            "a queue-mode rb serve, whose workers run the executions (docs/scaling.md)",
        ),
    ] = False,
    vus: Annotated[
        int | None, typer.Option("--vus", min=1, metavar="N", help="constant load: N users")
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration", metavar="D", help="constant load for D, e.g. 60s (default 30s with --vus)"
        ),
    ] = None,
    iterations: Annotated[
        int | None,
        typer.Option(
            "--iterations",
            min=1,
            metavar="N",
            help="constant load: N requests in all, shared by the users",
        ),
    ] = None,
    p95_ms: Annotated[
        float,
        typer.Option("--p95-ms", metavar="MS", help="threshold: 95th percentile latency under MS"),
    ] = 2000.0,
    p99_ms: Annotated[
        float | None,
        typer.Option("--p99-ms", metavar="MS", help="threshold: 99th percentile under MS (none)"),
    ] = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            "--max-error-rate",
            metavar="SHARE",
            help="threshold: HTTP errors and failed executions each under SHARE",
        ),
    ] = 0.05,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="write the script here ('-' for stdout; default loadtests/<runbook-id>.js)",
        ),
    ] = None,
    output_format: FormatOption = "text",
) -> int:
    """Render a k6 script from rb's template: POST /api/runbooks/execute with an acceptance
    scenario's inputs and fixture, under stages of virtual users, with thresholds. Default
    stages: 1m→10, 3m→50, 1m→0; thresholds: p95 under 2000 ms, under 5 % errors. Written
    to loadtests/<runbook-id>.js."""
    from rb.cli.commands import loadtest

    options = loadtest.GenerateOptions(
        scenario=scenario,
        stages=stages,
        vus=vus,
        duration=duration,
        iterations=iterations,
        p95_ms=p95_ms,
        p99_ms=p99_ms,
        max_error_rate=max_error_rate,
        live=live,
        enqueue=enqueue,
    )
    return loadtest.generate(runbooks, options, output=output, output_format=output_format)


@loadtest_app.command("run", short_help="run a k6 script and report latency, rates and thresholds")
@guard
def run(
    script: Annotated[
        Path,
        typer.Argument(
            metavar="SCRIPT", dir_okay=False, help="a k6 script, e.g. loadtests/<id>.js"
        ),
    ],
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="base URL of rb serve, passed as RB_URL (default: $RB_URL, else the "
            "script's http://127.0.0.1:8080)",
        ),
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary", metavar="FILE", dir_okay=False, help="keep k6's JSON summary export here"
        ),
    ] = None,
    output_format: FormatOption = "text",
) -> int:
    """Run SCRIPT with the real k6 binary (always --no-usage-report) and print p50/p95/p99
    latency, request rate and error rates against the script's thresholds. Exit 0 when all
    hold, 1 when one is crossed, 2 for bad usage."""
    from rb.cli.commands import loadtest

    return loadtest.run(
        str(script), url=url, summary=path_text(summary), output_format=output_format
    )


def register(app: typer.Typer) -> None:
    """Add `rb loadtest` to the `rb` app."""
    app.add_typer(loadtest_app, name="loadtest", no_args_is_help=True)
