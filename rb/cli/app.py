"""The `rb` command line: parse arguments, call a command, return its exit code.

argparse keeps start-up fast (`rb --help` imports nothing heavy); each
command's module is imported only when that command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rb import __version__
from rb.cli.errors import guarded
from rb.errors import EXIT_USAGE

FORMATS = ("text", "json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rb",
        description="Runbooks as code: validate, test, run, record and replay procedures.",
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
        "types",
        help="list the registered step types",
        description="List registered step types with their inputs.",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
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
    if args.command == "validate":
        from rb.commands.validate import validate

        return validate(args.paths, output_format=args.format, strict=args.strict)
    if args.command == "schema":
        from rb.commands.schema import schema

        return schema()
    if args.command == "types":
        from rb.commands.types import types

        return types(output_format=args.format)
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover
