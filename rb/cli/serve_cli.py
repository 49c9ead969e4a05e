"""`rb serve`: the HTTP API (REST, GraphQL, event streams, metrics).

Only options here: Starlette, uvicorn and the rest are imported when the
command runs, so `rb --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from rb.cli.options import DbOption, SecretsFileOption, guard, path_text
from rb.server.config import (  # light
    DEFAULT_HOST,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PORT,
    DEFAULT_SWEEP_INTERVAL,
)

TOKEN_VARIABLE = "RB_API_TOKEN"


@guard
def serve(
    host: Annotated[str, typer.Option("--host", help="address to bind")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port")] = DEFAULT_PORT,
    runbooks: Annotated[
        Path,
        typer.Option(
            "--runbooks", metavar="DIR", file_okay=False, help="folder of runbooks served by id"
        ),
    ] = Path("runbooks"),
    db: DbOption = None,
    max_concurrent: Annotated[
        int,
        typer.Option(
            "--max-concurrent",
            min=1,
            metavar="N",
            help="executions running at once; more wait for a worker",
        ),
    ] = DEFAULT_MAX_CONCURRENT,
    secrets_file: SecretsFileOption = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            metavar="NAME",
            help="another name clients reach the server by (behind a proxy: its public "
            "name); the Host header must be 127.0.0.1, localhost or [::1] with the port, "
            "the address bound, or one of these. Repeatable; '*' allows any",
        ),
    ] = None,
    graphiql: Annotated[
        bool,
        typer.Option(
            "--graphiql",
            help="serve the GraphiQL explorer on GET /graphql (it loads its scripts from a CDN)",
        ),
    ] = False,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            metavar="N",
            help="open connections at once; past it the longest-idle one is closed",
        ),
    ] = DEFAULT_MAX_CONNECTIONS,
    sweep_interval: Annotated[
        float,
        typer.Option(
            "--sweep-interval",
            min=0,
            metavar="SECONDS",
            help="how often parked runs past their approval or event deadline are resumed "
            "(0: never; then run `rb resume --due` from cron)",
        ),
    ] = DEFAULT_SWEEP_INTERVAL,
    queue: Annotated[
        bool | None,
        typer.Option(
            "--queue/--no-queue",
            help="put executions on the PostgreSQL queue for rb worker processes (default with "
            "a PostgreSQL store), or run them in this process (the default with SQLite)",
            show_default=False,
        ),
    ] = None,
    queue_name: Annotated[
        str,
        typer.Option("--queue-name", metavar="NAME", help="the queue executions go to"),
    ] = "runbooks",
    log_level: Annotated[
        Literal["critical", "error", "warning", "info", "debug"],
        typer.Option("--log-level", help="how much uvicorn logs"),
    ] = "info",
    no_access_log: Annotated[
        bool, typer.Option("--no-access-log", help="do not log each request")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            metavar="N",
            help="server processes sharing the port (one core each); live event streams "
            "and --max-concurrent are per process (docs/serve.md)",
        ),
    ] = 1,
) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it gracefully)."""
    import os

    from rb.cli.commands.serve import serve

    return serve(
        host=host,
        port=port,
        runbooks=runbooks,
        db=db,
        # Taken out of the environment: live runs and their commands must not see it.
        token=os.environ.pop(TOKEN_VARIABLE, None) or None,
        secrets_file=path_text(secrets_file),
        max_concurrent=max_concurrent,
        allowed_hosts=tuple(allowed_host or ()),
        graphiql=graphiql,
        max_connections=max_connections,
        sweep_interval=sweep_interval,
        queue=queue,
        queue_name=queue_name,
        log_level=log_level,
        access_log=not no_access_log,
        workers=workers,
    )


def register(app: typer.Typer) -> None:
    """Add `rb serve` to the `rb` app."""
    app.command(
        "serve",
        short_help="serve the runbooks over HTTP (REST, GraphQL, SSE, metrics)",
        help="Serve the project's runbooks over HTTP: list and run them (live, or against a "
        "fixture), read and replay executions, stream their events, GraphQL at /graphql, "
        "/health/live, /health/ready and /metrics. Every execution is recorded as from the "
        "CLI. Every endpoint but /health/* needs 'Authorization: Bearer <token>': a token "
        f"from rb tokens create, or {TOKEN_VARIABLE} (identity api-token, role admin). "
        "See docs/serve.md and docs/security.md.",
    )(serve)
