"""The one error boundary around every command."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable

from rb import __version__
from rb.errors import EXIT_BUG, EXIT_INTERRUPTED, RbError


def guarded(run: Callable[[], int]) -> int:
    """Run a command, turning errors into a message and an exit code.

    RbError: its message and exit code. Ctrl-C: 130. Anything else is a bug
    in rb: a short message, exit 3, and a crash log with a full report.
    """
    try:
        return run()
    except RbError as exc:
        print(f"rb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rb: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error worth a report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        log = _crash_log()
        print(
            f"rb: an unexpected error occurred (this is a bug in rb); details in {log}",
            file=sys.stderr,
        )
        return EXIT_BUG


def _crash_log() -> str:
    report = (
        f"rb {__version__}\nPython {sys.version}\n{platform.platform()}\n"
        f"argv: {sys.argv}\n\n{traceback.format_exc()}"
    )
    fd, path = tempfile.mkstemp(prefix="rb-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(report)
    return path
