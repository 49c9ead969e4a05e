"""Whether output is coloured, decided in one place for every command.

The usual conventions: `NO_COLOR` (any non-empty value) or the global
`--no-color` turn colour off, so does `TERM=dumb`; otherwise only a terminal
gets colour. Nothing heavy here: `rb --help` imports this module.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

GREEN, RED, YELLOW, BOLD, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[0m"

# Report lines whose first word says how something went: the mark is coloured.
_LINE_MARKS = {"✓": GREEN, "✗": RED}
# Verdicts on a line of their own: rb test, rb replay, and rb run's final status.
_VERDICTS = {
    "PASS": GREEN,
    "NEW": YELLOW,
    "FAIL": RED,
    "SUCCESS": GREEN,
    "FAILURE": RED,
    "ABORTED": RED,
    "INTERRUPTED": RED,
    "REPLAY VERIFIED": GREEN,
    "REPLAY DIVERGED": RED,
}


def disable() -> None:
    """`--no-color`: colour off for this process and the programs it starts.

    Set as NO_COLOR rather than a flag of our own, so rich, k6 and a runbook's
    shell steps follow the same switch.
    """
    os.environ["NO_COLOR"] = "1"


def use_color(out: TextIO) -> bool:
    """Whether text written to `out` may carry ANSI colour."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(out, "isatty", lambda: False)())


def paint(text: str, color: str) -> str:
    """`text` in `color` (one of this module's codes)."""
    return f"{color}{text}{RESET}"


def paint_line(line: str) -> str:
    """A report line with its mark or verdict coloured; other lines as they are."""
    mark, _, rest = line.partition(" ")
    if mark in _LINE_MARKS and rest:
        return f"{paint(mark, _LINE_MARKS[mark])} {rest}"
    first = line.split(" (", 1)[0].rstrip()
    if first in _VERDICTS:
        return paint(first, _VERDICTS[first]) + line[len(first) :]
    if line.startswith("FAIL "):
        return paint("FAIL", RED) + line[4:]
    return line


class ColorLines:
    """A text stream that colours the marks of the report lines passing through.

    Installed on stdout by the CLI when `use_color(sys.stdout)`, so rb test,
    rb run, rb replay and rb acceptance are coloured alike without each
    command knowing about colour. Anything else (isatty, fileno, flush) is the
    wrapped stream's.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        """Write whole lines coloured; keep a partial line until it ends."""
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        if lines:
            self._stream.write("".join(paint_line(line) + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        """Write a pending partial line as it is, then flush."""
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    @property
    def wrapped(self) -> TextIO:
        """The stream underneath."""
        return self._stream

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def install(no_color: bool) -> None:
    """Decide colour for this process: `--no-color`, else the conventions."""
    if no_color:
        disable()
    if use_color(sys.stdout) and not isinstance(sys.stdout, ColorLines):
        sys.stdout = ColorLines(sys.stdout)


def uninstall() -> None:
    """Put stdout back as it was (the end of `main`), writing what is pending."""
    if isinstance(sys.stdout, ColorLines):
        sys.stdout.flush()
        sys.stdout = sys.stdout.wrapped
