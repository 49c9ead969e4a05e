"""A small project on disk for the input-file tests: a runbook and its fixture."""

from __future__ import annotations

from pathlib import Path

RUNBOOK = """\
id: hello
name: Hello
version: "1"
steps:
  - id: greet
    type: shell
    inputs: {command: echo, args: ["hello"]}
"""

FIXTURE = """\
shell:
  - request: {command: echo, args: [hello]}
    response: {stdout: "hello\\n"}
"""


def bomb(levels: int = 7) -> str:
    """A "billion laughs" YAML mapping: 9**levels strings from a few hundred bytes."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def project(root: Path, runbook: str = RUNBOOK, fixture: str = FIXTURE) -> Path:
    """runbooks/hello.yaml and fixtures/hello.yaml under `root`."""
    (root / "runbooks").mkdir()
    (root / "runbooks" / "hello.yaml").write_text(runbook)
    (root / "fixtures").mkdir()
    (root / "fixtures" / "hello.yaml").write_text(fixture)
    return root
