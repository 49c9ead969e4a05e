"""Options of `rb loadtest` (placeholder until the command lands)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the command's options on the `rb` subparsers."""
    sub.add_parser("loadtest", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    from rb.errors import UsageError

    raise UsageError("rb loadtest is not available yet")
