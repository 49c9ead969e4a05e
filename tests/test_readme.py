"""Every shell example in the README runs as written, and succeeds.

The ```sh blocks of README.md run in one bash, in order, command by command
(a line ending in a backslash continues; `a && b` is two commands), as a
reader follows them, in a
copy of the project whose `.venv` is what `scripts/install` leaves: a
virtual environment whose `bin/rb` is this checkout's rb. `rb` is not on the
PATH the shell starts with, so a bare `rb` works only after the README has
said how to get it there. Every command must
exit 0: the README shows each as succeeding. Output is left to other tests.

A command the test cannot run (it installs, needs a terminal or a server on a
fixed port) is marked in the README, above its block:

    <!-- readme-test: skip `COMMAND PREFIX`: why -->

and checked as far as it can be without running it (its arguments parse,
the script exists, the request names a runbook and fixture that exist).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

README = ROOT / "README.md"
# What a command in the README may touch: the project's own folders.
PROJECT = ("runbooks", "fixtures", "expected", "acceptance", "screenshots", "loadtests", "scripts")
BOUND_SECONDS = 600  # only so a hanging command cannot hang the suite

_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)
_SKIP = re.compile(r"<!-- readme-test: skip `([^`]+)`: (.+?) -->")


@dataclass
class Command:
    line: int  # where it starts in README.md
    text: str
    skip: str | None = None  # the reason, when the README marks it


@dataclass
class Block:
    line: int
    commands: list[Command] = field(default_factory=list)


def readme_blocks(text: str) -> list[Block]:
    """The README's sh blocks, their commands, and which are marked to skip."""
    blocks = []
    previous_end = 0
    for match in _BLOCK.finditer(text):
        start = text.count("\n", 0, match.start()) + 1
        skips = dict(_SKIP.findall(text[previous_end : match.start()]))
        previous_end = match.end()
        block = Block(start)
        pending: list[str] = []
        for offset, raw in enumerate(match[1].splitlines(), start=start + 1):
            if not raw.strip() and not pending:
                continue
            pending.append(raw)
            if raw.endswith("\\"):
                continue
            first = offset - len(pending) + 1
            # `install && use` is two commands: a marker may skip the first alone.
            for command in "\n".join(pending).split(" && "):
                reason = next((why for p, why in skips.items() if command.startswith(p)), None)
                block.commands.append(Command(first, command, reason))
            pending = []
        unused = [p for p in skips if not any(c.text.startswith(p) for c in block.commands)]
        assert not unused, f"README.md:{start}: skip markers match no command: {unused}"
        blocks.append(block)
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
SKIPPED = [c for b in BLOCKS for c in b.commands if c.skip]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project as `scripts/install` leaves it (.venv/bin/rb is this rb)."""
    root = tmp_path_factory.mktemp("readme") / "project"
    root.mkdir()
    for name in PROJECT:
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "pyproject.toml", root)
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root / ".venv")
    rb = root / ".venv" / "bin" / "rb"
    rb.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec {shlex.quote(sys.executable)}"
        ' -m rb "$@"\n'
    )
    rb.chmod(0o755)
    return root


def _path_without_rb() -> str:
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not (Path(d) / "rb").exists())


def test_the_readme_examples_are_found_and_most_run() -> None:
    run = [c.text.split()[0] for b in BLOCKS for c in b.commands if c.skip is None]
    assert run.count("rb") + run.count(".venv/bin/rb") >= 3, (
        run
    )  # a parsing slip must not pass as "nothing to run"


def test_the_readme_runs_as_written(installed: Path) -> None:
    # One shell for the whole README, as a reader follows it: what the first
    # block sets up (rb on PATH) holds for the blocks after it.
    script = ["cd " + shlex.quote(str(installed))]
    for command in (c for b in BLOCKS for c in b.commands if c.skip is None):
        where = f"README.md:{command.line}"
        script += [
            command.text,
            f'rc=$?; [ "$rc" -eq 0 ] || {{ echo "{where}: exit $rc" >&2; exit 1; }}',
        ]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "CI")}
    env.update(PATH=_path_without_rb(), NO_COLOR="1")
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=BOUND_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("command", SKIPPED, ids=lambda c: f"README.md:{c.line}")
def test_the_commands_it_cannot_run_are_still_right(command: Command) -> None:
    """What the README marks as not run here is checked as far as it can be:
    rb's own arguments parse, scripts exist, a request names what exists."""
    from rb.cli.app import check_usage

    argv = shlex.split(command.text.replace("\\\n", " "), comments=True)
    argv = [a for a in argv if a != "&"]
    if argv[0] == "rb":
        check_usage(argv[1:])  # raises (fails the test) when invalid
    elif argv[0].startswith("scripts/"):
        assert os.access(ROOT / argv[0], os.X_OK), f"{argv[0]} is not an executable script"
    elif argv[0] == "curl":
        assert "Content-Type: application/json" in argv, "rb serve takes JSON bodies only"
        body = json.loads(argv[argv.index("-d") + 1])
        assert (ROOT / body["fixture"]).is_file(), body["fixture"]
        ids = [yaml.safe_load(p.read_text())["id"] for p in (ROOT / "runbooks").glob("*.yaml")]
        assert body["runbook_id"] in ids
    else:
        pytest.fail(f"README.md:{command.line}: no check for {argv[0]!r}; add one here")
