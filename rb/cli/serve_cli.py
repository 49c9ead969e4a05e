"""Options of `rb serve`: the HTTP API (REST, GraphQL, event streams, metrics).

Only argparse here: Starlette, uvicorn and the rest are imported when the
command runs, so `rb --help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from rb.cli.options import add_db_option, positive
from rb.server.config import (  # light
    DEFAULT_HOST,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PORT,
)

TOKEN_VARIABLE = "RB_API_TOKEN"


def add_parser(sub: Any) -> None:
    """Register the command's options on the `rb` subparsers."""
    p = sub.add_parser(
        "serve",
        help="serve the runbooks over HTTP (REST, GraphQL, SSE, metrics)",
        description="Serve the project's runbooks over HTTP: list and run them (live, or "
        "against a fixture), read and replay executions, stream their events, GraphQL at "
        "/graphql, /health/live, /health/ready and /metrics. Every execution is recorded "
        f"as from the CLI. With {TOKEN_VARIABLE} set, every endpoint but /health/* needs "
        "'Authorization: Bearer <token>'. See docs/serve.md.",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument(
        "--runbooks",
        default="runbooks",
        metavar="DIR",
        help="folder of runbooks served by id (default: runbooks)",
    )
    add_db_option(p)
    p.add_argument(
        "--max-concurrent",
        type=positive,
        default=DEFAULT_MAX_CONCURRENT,
        metavar="N",
        help="executions running at once; more wait for a worker "
        f"(default {DEFAULT_MAX_CONCURRENT})",
    )
    p.add_argument(
        "--secrets-file",
        metavar="FILE",
        help="secrets for live runs: NAME=value lines, or a YAML/JSON mapping "
        "(besides RB_SECRET_<NAME> variables)",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another name clients reach the server by (behind a proxy: its public "
        "name); the Host header must be 127.0.0.1, localhost or [::1] with the port, "
        "the address bound, or one of these. Repeatable; '*' allows any",
    )
    p.add_argument(
        "--allow-live-without-token",
        action="store_true",
        help=f"run live runbooks without {TOKEN_VARIABLE} (on a machine only you use); "
        "by default only fixture runs need no token",
    )
    p.add_argument(
        "--graphiql",
        action="store_true",
        help="serve the GraphiQL explorer on GET /graphql (it loads its scripts from a CDN)",
    )
    p.add_argument(
        "--max-connections",
        type=positive,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="open connections at once; past it the longest-idle one is closed "
        f"(default {DEFAULT_MAX_CONNECTIONS})",
    )
    p.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
    )
    p.add_argument("--no-access-log", action="store_true", help="do not log each request")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it gracefully)."""
    import os
    from pathlib import Path

    from rb.cli.commands.serve import serve

    return serve(
        host=args.host,
        port=args.port,
        runbooks=Path(args.runbooks),
        db=args.db,
        # Taken out of the environment: live runs and their commands must not see it.
        token=os.environ.pop(TOKEN_VARIABLE, None) or None,
        secrets_file=args.secrets_file,
        max_concurrent=args.max_concurrent,
        allowed_hosts=tuple(args.allowed_host),
        allow_live_without_token=args.allow_live_without_token,
        graphiql=args.graphiql,
        max_connections=args.max_connections,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )
