"""Options several commands share, so each spells them the same way.

Typed once here (Annotated aliases for Typer) and used by every command
module. Imported by `rb --help`: nothing heavy here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer

from rb.cli.completion import complete_execution_id, complete_runbook
from rb.cli.errors import guarded

OutputFormat = Literal["text", "json"]
RunStatus = Literal[
    "queued",
    "running",
    "waiting",
    "success",
    "failure",
    "aborted",
    "cancelled",
    "interrupted",
    "timed_out",
]

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="output: text for people, json for programs")
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="store database (default: $RB_DATABASE_URL, else sqlite:///.rb/rb.db)",
    ),
]
NoRecordOption = Annotated[bool, typer.Option("--no-record", help="do not record this run")]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", metavar="NAME", help="who runs it (default: the OS user)"),
]
MaxParallelOption = Annotated[
    int | None,
    typer.Option("--max-parallel", min=1, metavar="N", help="at most N steps at once"),
]
JunitOption = Annotated[
    Path | None,
    typer.Option("--junit", metavar="FILE", dir_okay=False, help="also write JUnit XML here"),
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report",
        metavar="FILE",
        dir_okay=False,
        help="also write a self-contained HTML report of the recorded run here (docs/reports.md)",
    ),
]
SecretsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--secrets-file",
        metavar="FILE",
        dir_okay=False,
        help="secrets: NAME=value lines, or a YAML/JSON mapping "
        "(besides RB_SECRET_<NAME> variables)",
    ),
]
RunbookArgument = Annotated[
    str,
    typer.Argument(
        metavar="RUNBOOK",
        help="a runbook file, or an id under runbooks/",
        autocompletion=complete_runbook,
    ),
]
ExecutionIdArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="execution id, a unique prefix, or 'last'",
        autocompletion=complete_execution_id,
    ),
]

F = TypeVar("F", bound=Callable[..., int])


def guard(command: F) -> F:
    """Run a command body inside rb's error boundary (`rb.cli.errors.guarded`).

    Typer reads the wrapped function's signature, so options stay as declared.
    """

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> int:
        return guarded(lambda: command(*args, **kwargs))

    return wrapper  # type: ignore[return-value]


def start_recording(no_record: bool) -> None:
    """A recorded run starts the store's writer process while the command loads."""
    if not no_record:
        from rb.store.writer_process import prestart

        prestart()


def path_text(path: Path | None) -> str | None:
    """A path option as the commands take it: text, or None when not given."""
    return None if path is None else str(path)
