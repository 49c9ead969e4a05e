"""Options several commands share, so each spells them the same way.

Imported by `rb --help`: nothing heavy here.
"""

from __future__ import annotations

import argparse

FORMATS = ("text", "json")


def add_db_option(p: argparse.ArgumentParser) -> None:
    """`--db URL`: the store database."""
    p.add_argument(
        "--db",
        metavar="URL",
        help="store database (default: $RB_DATABASE_URL, else sqlite:///.rb/rb.db)",
    )


def add_record_options(p: argparse.ArgumentParser) -> None:
    """`--no-record`, `--actor` and `--db`: how a run is recorded."""
    p.add_argument("--no-record", action="store_true", help="do not record this run")
    p.add_argument("--actor", metavar="NAME", help="who runs it (default: the OS user)")
    add_db_option(p)


def positive(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value
