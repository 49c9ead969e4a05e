"""The `rb` command line: parse arguments, call a command, return its exit code.

argparse keeps start-up fast (`rb --help` imports nothing heavy); each
command's module is imported only when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from rb import __version__
from rb.cli.errors import guarded
from rb.cli.options import FORMATS
from rb.cli.options import add_db_option as _add_db_option
from rb.cli.options import add_record_options as _add_record_options
from rb.cli.options import positive as _positive
from rb.errors import EXIT_USAGE

# Commands whose options live in a module of their own, rb/cli/<name>_cli.py,
# with `add_parser(sub)` and `run(args) -> int`. Such a module imports nothing
# heavy at module level, so `rb --help` stays fast.
SPLIT_COMMANDS = ("acceptance", "serve", "loadtest")


def _split_module(name: str) -> Any:
    return importlib.import_module(f"rb.cli.{name}_cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rb",
        description="Runbooks as code: validate, test, run, record and replay procedures; "
        "acceptance packs, an execution API and k6 load tests.",
        epilog="Exit codes: 0 success, 1 a check failed, 2 bad usage or input, 3 a bug in rb.",
    )
    parser.add_argument("--version", action="version", version=f"rb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "validate",
        help="check runbooks for errors (YAML, schema, graph, expressions)",
        description="Check runbook files for errors and report each as file:line:col.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or glob patterns")
    p.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="output: text (default), json, or GitHub Actions annotations",
    )
    p.add_argument("--strict", action="store_true", help="fail on warnings too")

    p = sub.add_parser(
        "schema",
        help="print the runbook JSON Schema (for editors)",
        description="Print the runbook format's JSON Schema, with every registered step "
        "type's inputs, for yaml-language-server and other editors.",
    )

    p = sub.add_parser(
        "test",
        help="run a runbook against a golden fixture and check it",
        description="Run RUNBOOK with the outside world served from FIXTURE (virtual time, "
        "nothing leaves the machine); check assumptions, KPIs and outputs against "
        "the golden file. Exit 0 PASS, 1 FAIL.",
    )
    p.add_argument("runbook", metavar="RUNBOOK", help="a runbook file, or an id under runbooks/")
    p.add_argument("--fixture", required=True, metavar="FILE", help="fixture (YAML or JSON)")
    p.add_argument(
        "--expect", metavar="FILE", help="golden outputs (default: expected/<fixture name>.json)"
    )
    p.add_argument("--update", action="store_true", help="rewrite the golden file")
    p.add_argument(
        "--update-snapshots",
        action="store_true",
        help="accept new screenshots as baselines (screenshots/<runbook-id>/)",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    p.add_argument("--max-parallel", type=_positive, metavar="N", help="at most N steps at once")
    _add_record_options(p)

    p = sub.add_parser(
        "run",
        help="run a runbook for real",
        description="Run RUNBOOK live. Parameters are checked before anything starts. "
        "Secrets come from RB_SECRET_<NAME> variables or --secrets-file and are masked.",
    )
    p.add_argument("runbook", metavar="RUNBOOK", help="a runbook file, or an id under runbooks/")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument(
        "--fact",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a fact the runbook's assumptions check",
    )
    p.add_argument(
        "--secrets-file", metavar="FILE", help="NAME=value lines, or a YAML/JSON mapping"
    )
    p.add_argument("--max-parallel", type=_positive, metavar="N", help="at most N steps at once")
    p.add_argument("--format", choices=FORMATS, default="text")
    _add_record_options(p)

    p = sub.add_parser(
        "replay",
        help="replay a recorded execution and compare",
        description="Run a recorded execution again against its own recording (virtual "
        "time) and compare every step's outputs and requests. Exit 0 REPLAY VERIFIED, "
        "1 REPLAY DIVERGED.",
    )
    p.add_argument("id", metavar="ID", help="execution id, a unique prefix, or 'last'")
    p.add_argument(
        "--definition",
        metavar="FILE",
        help="replay against this runbook file instead of the recorded definition",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="re-send the recorded read-only requests to the real services and report drift",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--actor", metavar="NAME", help="who replays it (default: the OS user)")
    _add_db_option(p)

    runs = sub.add_parser(
        "runs", help="list, show and export recorded executions", description="Recorded executions."
    )
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    p = runs_sub.add_parser(
        "list", help="recorded runs, newest first", description="Recorded runs, newest first."
    )
    p.add_argument("--runbook", metavar="ID")
    p.add_argument("--status", choices=("running", "success", "failure", "aborted", "interrupted"))
    p.add_argument("--since", metavar="WHEN", help="30m, 2h, 7d, or an ISO time")
    p.add_argument("--limit", type=_positive, default=20, help="show at most N runs (default 20)")
    p.add_argument("--format", choices=FORMATS, default="text")
    _add_db_option(p)
    p = runs_sub.add_parser(
        "show", help="one run: steps, timings, errors, exchanges", description="One run in full."
    )
    p.add_argument("id", metavar="ID", help="execution id, a unique prefix, or 'last'")
    p.add_argument("--format", choices=FORMATS, default="text")
    _add_db_option(p)
    p = runs_sub.add_parser(
        "export",
        help="write a recording as a fixture",
        description="Write a recorded run as a fixture for rb test.",
    )
    p.add_argument("id", metavar="ID", help="execution id, a unique prefix, or 'last'")
    p.add_argument("--fixture", required=True, metavar="FILE", help="YAML, or JSON for .json")
    _add_db_option(p)

    p = sub.add_parser(
        "diff",
        help="compare two PNG images (pixelmatch)",
        description="Compare two PNG images by the pixelmatch algorithm and print how many "
        "pixels differ.",
    )
    p.add_argument("a", metavar="A.png")
    p.add_argument("b", metavar="B.png")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.1,
        help="per-pixel colour threshold, 0 to 1 (default 0.1)",
    )
    p.add_argument("--include-aa", action="store_true", help="count anti-aliased pixels too")
    p.add_argument("-o", "--output", metavar="DIFF.png", help="write the diff image here")
    p.add_argument(
        "--fail-over",
        type=float,
        metavar="SHARE",
        help="exit 1 when more than this share of pixels differs (e.g. 0.01)",
    )
    p.add_argument("--format", choices=FORMATS, default="text")

    dbp = sub.add_parser("db", help="manage the store database", description="The store database.")
    db_sub = dbp.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = db_sub.add_parser(
        "upgrade",
        help="migrate to the newest schema",
        description="Migrate the store to the newest schema.",
    )
    _add_db_option(p)

    p = sub.add_parser(
        "types",
        help="list the registered step types",
        description="List registered step types with their inputs.",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    for name in SPLIT_COMMANDS:
        _split_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rb` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return guarded(lambda: _dispatch(args))


def _dispatch(args: argparse.Namespace) -> int:
    if getattr(args, "no_record", True) is False:
        # The store's writer process starts while the command loads.
        from rb.store.writer_process import prestart

        prestart()
    if args.command in SPLIT_COMMANDS:
        return int(_split_module(args.command).run(args))
    if args.command == "validate":
        from rb.cli.commands.validate import validate

        return validate(args.paths, output_format=args.format, strict=args.strict)
    if args.command == "schema":
        from rb.cli.commands.schema import schema

        return schema()
    if args.command == "test":
        from rb.cli.commands.test import test

        return test(
            args.runbook,
            args.fixture,
            expect=args.expect,
            update=args.update,
            output_format=args.format,
            junit=args.junit,
            max_parallel=args.max_parallel,
            record=not args.no_record,
            db=args.db,
            actor=args.actor,
            update_snapshots=args.update_snapshots,
        )
    if args.command == "run":
        from rb.cli.commands.run import run

        return run(
            args.runbook,
            params=args.param,
            facts=args.fact,
            secrets_file=args.secrets_file,
            max_parallel=args.max_parallel,
            output_format=args.format,
            record=not args.no_record,
            db=args.db,
            actor=args.actor,
        )
    if args.command == "replay":
        from rb.cli.commands.replay import replay

        return replay(
            args.id,
            db=args.db,
            definition=args.definition,
            live=args.live,
            output_format=args.format,
            actor=args.actor,
        )
    if args.command == "runs":
        from rb.cli.commands import runs

        if args.runs_command == "list":
            return runs.runs_list(
                db=args.db,
                runbook=args.runbook,
                status=args.status,
                since=args.since,
                limit=args.limit,
                output_format=args.format,
            )
        if args.runs_command == "show":
            return runs.runs_show(args.id, db=args.db, output_format=args.format)
        return runs.runs_export(args.id, args.fixture, db=args.db)
    if args.command == "diff":
        from rb.cli.commands.diff import diff

        return diff(
            args.a,
            args.b,
            threshold=args.threshold,
            include_aa=args.include_aa,
            output=args.output,
            output_format=args.format,
            fail_over=args.fail_over,
        )
    if args.command == "db":
        from rb.cli.commands.runs import db_upgrade

        return db_upgrade(db=args.db)
    if args.command == "types":
        from rb.cli.commands.types import types

        return types(output_format=args.format)
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover
