"""The `rb` command in a shell: help for everything, completion, colour."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from rb.cli.app import command_tree, main
from rb.cli.color import paint_line

from .conftest import DATA, ROOT, run_rb
from .test_run_commands import _setup

GREEN = "\033[32m"
RED = "\033[31m"


def _commands(group: object = None, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    group = group or command_tree()
    found = []
    for name, sub in getattr(group, "commands", {}).items():
        found.append((*path, name))
        found.extend(_commands(sub, (*path, name)))
    return found


COMMANDS = _commands()


def test_the_command_list_is_complete() -> None:
    assert {" ".join(c) for c in COMMANDS} >= {
        "validate", "schema", "test", "run", "replay", "runs list", "runs show",
        "runs export", "diff", "db upgrade", "types", "acceptance", "serve",
        "loadtest generate", "loadtest run", "runs stats", "acceptance coverage",
        "acceptance generate", "tokens create", "tokens list", "tokens revoke", "publish",
        "definitions approve", "audit verify", "audit export",
    }  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_option_and_argument_has_a_help_line(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "%%" not in text
    cmd = command_tree()
    for name in command:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    assert cmd.get_short_help_str(), command
    for param in cmd.params:
        assert getattr(param, "help", None), f"rb {' '.join(command)}: {param.name} has no help"
        for name in getattr(param, "opts", []):
            assert not name.startswith("-") or name in text, f"{name} is not in the help"


def test_usage_errors_exit_2_with_the_reason_on_stderr() -> None:
    result = run_rb("runs", "list", "--limit", "0")
    assert result.returncode == 2
    assert "Invalid value for '--limit'" in result.stderr
    assert "Try 'rb runs list -h' for help." in result.stderr
    unknown = run_rb("valdate")
    assert unknown.returncode == 2 and "Did you mean 'validate'?" in unknown.stderr
    alone = run_rb()
    assert alone.returncode == 2 and "Commands:" in alone.stderr and alone.stdout == ""


def _bash_complete(words: str, cwd: Path, bin_dir: Path) -> list[str]:
    """Tab at the end of `words` in a real bash with rb's completion script loaded,
    `rb` on the PATH from `bin_dir`."""
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "rb"  # the real entry point, run from this checkout
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m rb "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    # The script `rb --show-completion` prints in bash, asked for without detecting the shell.
    script = subprocess.run(
        ["rb"], env={**env, "_RB_COMPLETE": "source_bash"}, cwd=cwd, capture_output=True, text=True
    )
    assert script.returncode == 0, script.stderr
    last_word = ' ""' if words.endswith(" ") else ""  # Tab after a space: an empty word
    program = (
        f"{script.stdout}\n"
        f"COMP_WORDS=({words}{last_word}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n"
        "complete -p rb >/dev/null && _rb_completion rb\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def test_bash_completes_commands_and_runbook_ids(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    assert _bash_complete("rb val", ROOT, bin_dir) == ["validate"]
    assert _bash_complete("rb runs s", ROOT, bin_dir) == ["show", "stats"]
    assert _bash_complete("rb test rb-001", ROOT, bin_dir) == ["rb-001-entity-enrichment"]
    assert _bash_complete("rb runs list --status f", ROOT, bin_dir) == ["failure"]


def test_bash_completes_recorded_execution_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RB_DATABASE_URL", raising=False)  # the default store, in cwd
    cwd = _setup(tmp_path)
    bin_dir = tmp_path / "bin"
    recorded = run_rb("test", "hello", "--fixture", "fixtures/hello.yaml", "--update", cwd=cwd)
    assert recorded.returncode == 0, recorded.stderr
    listing = run_rb("runs", "list", "--format", "json", cwd=cwd)
    (execution_id,) = [r["id"] for r in json.loads(listing.stdout)]
    assert _bash_complete(f"rb runs show {execution_id[:4]}", cwd, bin_dir) == [execution_id]
    assert _bash_complete("rb replay la", cwd, bin_dir) == ["last"]
    assert not (tmp_path / "elsewhere" / ".rb").exists()
    (tmp_path / "elsewhere").mkdir()
    # No store here: only 'last', and no database is created by asking.
    assert _bash_complete("rb runs show ", tmp_path / "elsewhere", bin_dir) == ["last"]
    assert not (tmp_path / "elsewhere" / ".rb").exists()


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """rb's stdout when it is a terminal (a pseudo-terminal)."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rb", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT), "TERM": "xterm"},
        stdout=follower,
        stderr=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: rb has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait()
    os.close(leader)
    return b"".join(chunks).decode()


def _without_no_color() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "NO_COLOR"}


@pytest.mark.parametrize(
    "args",
    [
        ["validate", str(DATA / "invalid" / "rb031_missing_dependency.yaml")],
        ["test", "hello", "--fixture", "fixtures/hello.yaml", "--no-record", "--update"],
    ],
    ids=["validate", "test"],
)
def test_colour_on_a_terminal_only_and_never_with_no_color(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR")
    cwd = _setup(tmp_path)
    on_tty = _on_a_terminal(args, cwd, _without_no_color())
    assert GREEN in on_tty or RED in on_tty, on_tty
    plain = _on_a_terminal(args, cwd, {**_without_no_color(), "NO_COLOR": "1"})
    assert "\033[" not in plain and plain.strip()
    flag = _on_a_terminal(["--no-color", *args], cwd, _without_no_color())
    assert flag == plain
    piped = run_rb(*args, cwd=cwd, env={"NO_COLOR": ""})
    assert "\033[" not in piped.stdout
    assert piped.stdout.replace("\n", "\r\n") == plain


@pytest.mark.parametrize(
    ("line", "coloured"),
    [
        ("✓ Step: greet (exit 0)", f"{GREEN}✓\033[0m Step: greet (exit 0)"),
        ("✗ KPI: duration (9s > 5s)", f"{RED}✗\033[0m KPI: duration (9s > 5s)"),
        ("PASS", f"{GREEN}PASS\033[0m"),
        ("REPLAY DIVERGED", f"{RED}REPLAY DIVERGED\033[0m"),
        ("SUCCESS (KPI breached: x)", f"{GREEN}SUCCESS\033[0m (KPI breached: x)"),
        ("FAIL rb-001 / happy (fixture f)", f"{RED}FAIL\033[0m rb-001 / happy (fixture f)"),
        ('  "status": "PASS"', '  "status": "PASS"'),  # JSON is never touched
        ("PASSED the test", "PASSED the test"),
    ],
)
def test_report_lines_are_coloured_by_their_mark_or_verdict(line: str, coloured: str) -> None:
    assert paint_line(line) == coloured
