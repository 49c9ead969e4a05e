"""The `rb` command line: a Typer app that parses options, calls a command, returns its exit code.

Each command's module is imported inside its function, so `rb --help` and
`rb validate` import nothing heavy. Commands with many options live in
modules of their own (`rb/cli/<name>_cli.py`), each adding itself to `app`.
Help is Typer's plain (click) formatting: rich's would cost over 100 ms on
every `rb --help` (benchmarks/RESULTS.md, "Issue 13: Typer CLI").
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import typer
from typer._click.exceptions import ClickException  # Typer vendors click

from rb import __version__
from rb.cli import color
from rb.cli.options import (
    ActorOption,
    DbOption,
    ExecutionIdArgument,
    FormatOption,
    JunitOption,
    MaxParallelOption,
    NoRecordOption,
    ReportOption,
    RunbookArgument,
    SecretsFileOption,
    guard,
    path_text,
    start_recording,
)
from rb.errors import EXIT_INTERRUPTED, EXIT_USAGE

app = typer.Typer(
    name="rb",
    help="Runbooks as code: validate, test, run, record and replay procedures; "
    "acceptance packs, an execution API and k6 load tests.",
    epilog="Exit codes: 0 success, 1 a check failed, 2 bad usage or input, 3 a bug in rb.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"rb {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global(
    no_color: Annotated[
        bool,
        typer.Option(
            "--no-color", help="no colour in the output (as NO_COLOR=1; also off when not a TTY)"
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print rb's version and exit"
        ),
    ] = False,
) -> None:
    """Runbooks as code: validate, test, run, record and replay procedures."""
    color.install(no_color)


@app.command(short_help="check runbooks for errors (YAML, schema, graph, expressions)")
@guard
def validate(
    paths: Annotated[
        list[str], typer.Argument(metavar="PATH", help="files, folders or glob patterns")
    ],
    output_format: Annotated[
        Literal["text", "json", "github"],
        typer.Option(
            "--format", help="output: text (default), json, or GitHub Actions annotations"
        ),
    ] = "text",
    strict: Annotated[bool, typer.Option("--strict", help="fail on warnings too")] = False,
) -> int:
    """Check runbook files for errors and report each as file:line:col."""
    from rb.cli.commands.validate import validate

    return validate(paths, output_format=output_format, strict=strict)


@app.command(short_help="print the runbook JSON Schema (for editors)")
@guard
def schema() -> int:
    """Print the runbook format's JSON Schema, with every registered step type's inputs,
    for yaml-language-server and other editors."""
    from rb.cli.commands.schema import schema

    return schema()


@app.command(short_help="run a runbook against a golden fixture and check it")
@guard
def test(
    runbook: RunbookArgument,
    fixture: Annotated[
        Path,
        typer.Option("--fixture", metavar="FILE", dir_okay=False, help="fixture (YAML or JSON)"),
    ],
    expect: Annotated[
        Path | None,
        typer.Option(
            "--expect",
            metavar="FILE",
            dir_okay=False,
            help="golden outputs (default: expected/<fixture name>.json)",
        ),
    ] = None,
    update: Annotated[bool, typer.Option("--update", help="rewrite the golden file")] = False,
    update_snapshots: Annotated[
        bool,
        typer.Option(
            "--update-snapshots",
            help="accept new screenshots as baselines (screenshots/<runbook-id>/)",
        ),
    ] = False,
    output_format: FormatOption = "text",
    junit: JunitOption = None,
    report: ReportOption = None,
    max_parallel: MaxParallelOption = None,
    no_record: NoRecordOption = False,
    actor: ActorOption = None,
    db: DbOption = None,
) -> int:
    """Run RUNBOOK with the outside world served from FIXTURE (virtual time, nothing leaves the
    machine); check assumptions, KPIs and outputs against the golden file. Exit 0 PASS, 1
    FAIL."""
    start_recording(no_record)
    from rb.cli.commands.test import test

    return test(
        runbook,
        str(fixture),
        expect=path_text(expect),
        update=update,
        output_format=output_format,
        junit=path_text(junit),
        max_parallel=max_parallel,
        record=not no_record,
        db=db,
        actor=actor,
        update_snapshots=update_snapshots,
        report=path_text(report),
    )


@app.command(short_help="run a runbook for real")
@guard
def run(
    runbook: RunbookArgument,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="NAME=VALUE",
            help="a runbook parameter, checked against its declaration; repeatable",
        ),
    ] = None,
    fact: Annotated[
        list[str] | None,
        typer.Option(
            "--fact",
            metavar="NAME=VALUE",
            help="a fact the runbook's assumptions check; repeatable",
        ),
    ] = None,
    secrets_file: SecretsFileOption = None,
    max_parallel: MaxParallelOption = None,
    output_format: FormatOption = "text",
    no_record: NoRecordOption = False,
    actor: ActorOption = None,
    db: DbOption = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            metavar="KEY",
            help="a second run with this key (within RB_IDEMPOTENCY_RETENTION, 24h) "
            "prints the first one's execution instead of running again",
        ),
    ] = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="put the run on the PostgreSQL queue for an rb worker and print its id "
            "(docs/scaling.md); secrets come from the worker's environment",
        ),
    ] = False,
    queue_name: Annotated[
        str,
        typer.Option("--queue-name", metavar="NAME", help="the queue, with --queue"),
    ] = "runbooks",
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="with --queue: wait until the run ends or waits, exit by its status"
        ),
    ] = False,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="NAME",
            help="the environment this run is for (the runbook's environments:); where it "
            "requires approval only an approved definition runs (docs/definitions.md)",
        ),
    ] = None,
) -> int:
    """Run RUNBOOK live. Parameters are checked before anything starts. Secrets come from
    RB_SECRET_<NAME> variables or --secrets-file and are masked."""
    start_recording(no_record)
    if queue:
        from rb.cli.commands.run import run_on_queue

        return run_on_queue(
            runbook,
            params=param or [],
            facts=fact or [],
            output_format=output_format,
            no_record=no_record,
            secrets_file=path_text(secrets_file),
            db=db,
            actor=actor,
            idempotency_key=idempotency_key,
            queue=queue_name,
            wait=wait,
            environment=env,
        )
    from rb.cli.commands.run import run

    return run(
        runbook,
        params=param or [],
        facts=fact or [],
        secrets_file=path_text(secrets_file),
        max_parallel=max_parallel,
        output_format=output_format,
        record=not no_record,
        db=db,
        actor=actor,
        idempotency_key=idempotency_key,
        environment=env,
    )


@app.command(short_help="replay a recorded execution and compare")
@guard
def replay(
    execution: ExecutionIdArgument,
    definition: Annotated[
        Path | None,
        typer.Option(
            "--definition",
            metavar="FILE",
            dir_okay=False,
            help="replay against this runbook file instead of the recorded definition",
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="re-send the recorded read-only requests to the real services and report drift",
        ),
    ] = False,
    output_format: FormatOption = "text",
    actor: Annotated[
        str | None,
        typer.Option("--actor", metavar="NAME", help="who replays it (default: the OS user)"),
    ] = None,
    report: ReportOption = None,
    db: DbOption = None,
) -> int:
    """Run a recorded execution again against its own recording (virtual time) and compare every
    step's outputs and requests. Exit 0 REPLAY VERIFIED, 1 REPLAY DIVERGED."""
    from rb.cli.commands.replay import replay

    return replay(
        execution,
        db=db,
        definition=path_text(definition),
        live=live,
        output_format=output_format,
        actor=actor,
        report=path_text(report),
    )


@app.command(short_help="compare two PNG images (pixelmatch)")
@guard
def diff(
    a: Annotated[Path, typer.Argument(metavar="A.png", dir_okay=False, help="the first image")],
    b: Annotated[
        Path, typer.Argument(metavar="B.png", dir_okay=False, help="the image compared with it")
    ],
    threshold: Annotated[
        float,
        typer.Option("--threshold", help="per-pixel colour threshold, 0 to 1"),
    ] = 0.1,
    include_aa: Annotated[
        bool, typer.Option("--include-aa", help="count anti-aliased pixels too")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="DIFF.png", dir_okay=False, help="write the diff image here"
        ),
    ] = None,
    fail_over: Annotated[
        float | None,
        typer.Option(
            "--fail-over",
            metavar="SHARE",
            help="exit 1 when more than this share of pixels differs (e.g. 0.01)",
        ),
    ] = None,
    output_format: FormatOption = "text",
) -> int:
    """Compare two PNG images by the pixelmatch algorithm and print how many pixels differ."""
    from rb.cli.commands.diff import diff

    return diff(
        str(a),
        str(b),
        threshold=threshold,
        include_aa=include_aa,
        output=path_text(output),
        output_format=output_format,
        fail_over=fail_over,
    )


@app.command(short_help="list the registered step types")
@guard
def types(output_format: FormatOption = "text") -> int:
    """List registered step types with their inputs."""
    from rb.cli.commands.types import types

    return types(output_format=output_format)


@app.command(short_help="draw a runbook's DAG (Mermaid, DOT or JSON)")
@guard
def graph(
    runbook: RunbookArgument,
    output_format: Annotated[
        Literal["mermaid", "dot", "json"],
        typer.Option(
            "--format",
            help="mermaid (renders on GitHub, the default), dot (Graphviz) or json",
        ),
    ] = "mermaid",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", dir_okay=False, help="write here instead of stdout"
        ),
    ] = None,
) -> int:
    """Draw RUNBOOK's steps and dependencies with step types, failure policies and the
    critical path (by timeouts and retries). The runbook must pass rb validate."""
    from rb.cli.graph_cmd import graph

    return graph(runbook, output_format=output_format, output=path_text(output))


# Commands in modules of their own; each imports nothing heavy at module level.
def _register() -> None:
    from rb.cli import (
        acceptance_cli,
        durable_cli,
        loadtest_cli,
        report_cli,
        runs_cli,
        serve_cli,
    )

    for module in (runs_cli, report_cli, acceptance_cli, serve_cli, loadtest_cli, durable_cli):
        module.register(app)
    from rb.cli import (
        audit_cli,
        definitions_cli,
        schedules_cli,
        tokens_cli,
        waits_cli,
        worker_cli,
        workers_cli,
    )

    tokens_cli.register(app)
    waits_cli.register(app)
    worker_cli.register(app)
    workers_cli.register(app)
    schedules_cli.register(app)
    audit_cli.register(app)
    definitions_cli.register(app)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rb` command: the exit code, never SystemExit."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="rb", standalone_mode=False)
    except ClickException as exc:  # bad usage; `rb` alone prints its help here, on stderr
        exc.show()
        return EXIT_USAGE
    except SystemExit as exc:  # --show-completion, --install-completion and Tab answers
        return exc.code if isinstance(exc.code, int) else 0
    except typer.Abort:
        print("rb: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        color.uninstall()
    return int(result or 0)


def command_tree() -> typer.core.TyperGroup:
    """The `rb` command as click sees it: its subcommands and their parameters."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return group


def check_usage(argv: Sequence[str]) -> list[str]:
    """Parse `argv` as `rb` would, running nothing; the command's path, e.g.
    `["rb", "runs", "list"]`. Bad usage raises click's UsageError (for tests and
    docs checks: a documented command line must parse)."""
    command: typer.core.TyperGroup | typer.core.TyperCommand = command_tree()
    ctx = command.make_context("rb", list(argv))
    path = ["rb"]
    while isinstance(ctx.command, typer.core.TyperGroup):
        # A group keeps its subcommand's words aside until it is invoked.
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            ctx.fail("Missing command.")
        name, sub, rest = ctx.command.resolve_command(ctx, rest)
        assert name is not None and sub is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        path.append(name)
    return path
