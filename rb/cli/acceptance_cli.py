"""Options of `rb acceptance` (the command itself is rb/commands/acceptance.py)."""

from __future__ import annotations

import argparse
from typing import Any

from rb.cli.options import FORMATS, add_record_options, positive


def add_parser(sub: Any) -> None:
    """Register the command's options on the `rb` subparsers."""
    p = sub.add_parser(
        "acceptance",
        help="run acceptance packs (acceptance/<runbook-id>/acceptance.yml)",
        description="Run each scenario of the acceptance packs against its fixture (virtual "
        "time, nothing leaves the machine) and check status, KPIs, errors, outputs, "
        "screenshots and which steps ran. With no argument, every pack under acceptance/. "
        "Exit 0 all passed, 1 a scenario failed, 2 a pack, runbook or fixture is invalid.",
    )
    p.add_argument(
        "targets",
        nargs="*",
        metavar="RUNBOOK|DIR",
        help="a runbook id or file, a pack folder or file, or a folder of packs",
    )
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    p.add_argument("--max-parallel", type=positive, metavar="N", help="at most N steps at once")
    add_record_options(p)


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    from rb.acceptance.runner import RunOptions
    from rb.cli.commands.acceptance import acceptance

    return acceptance(
        args.targets,
        output_format=args.format,
        junit=args.junit,
        options=RunOptions(
            record=not args.no_record,
            db=args.db,
            actor=args.actor,
            max_parallel=args.max_parallel,
        ),
    )
