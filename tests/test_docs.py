"""The docs say what rb does.

Every diagnostic code, step type, expression function and command is
documented; every complete runbook in the docs validates cleanly; every
diagnostic example prints exactly the message the docs show.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from rb import jsonschema_check
from rb.cli.app import command_tree
from rb.cli.commands.schema import editor_schema
from rb.diagnostics import CODES
from rb.expressions.functions import DESCRIPTIONS, FUNCTIONS
from rb.loader import format_schema, load_file, load_text
from rb.plugins import step_types
from rb.validate import validate_loaded

from .conftest import ROOT

DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def fenced(text: str, lang: str) -> list[str]:
    """The contents of every fenced block in `text` tagged `lang`."""
    return [body for tag, body in FENCE.findall(text) if tag == lang]


def sections(text: str, level: str) -> dict[str, str]:
    """Heading text -> the section's body, for headings of exactly `level` (## or ###).

    A section ends at the next heading of the same or a higher level; lines
    inside fenced blocks (YAML comments start with '#') are never headings.
    """
    out: dict[str, str] = {}
    title: str | None = None
    body: list[str] = []
    in_fence = False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else re.match(r"(#+) (.+)", line)
        if heading and len(heading[1]) <= len(level):
            if title is not None:
                out[title] = "".join(body)
            title = heading[2].strip() if len(heading[1]) == len(level) else None
            body = []
        elif title is not None:
            body.append(line)
    if title is not None:
        out[title] = "".join(body)
    return out


def complete_runbooks() -> list[tuple[str, str]]:
    """Every ```yaml block in docs/*.md whose first line starts with `id:`."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for i, block in enumerate(fenced(page.read_text(encoding="utf-8"), "yaml")):
            if block.startswith("id:"):
                found.append((f"{page.name}#{i}", block))
    return found


# Complete runbooks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "text"), complete_runbooks(), ids=[w for w, _ in complete_runbooks()]
)
def test_every_complete_runbook_in_the_docs_validates_with_no_diagnostics(
    where: str, text: str
) -> None:
    report = validate_loaded(load_text(text, where), step_types())
    assert [d.text() for d in report.diagnostics] == []


@pytest.mark.parametrize(
    ("where", "text"), complete_runbooks(), ids=[w for w, _ in complete_runbooks()]
)
def test_every_complete_runbook_in_the_docs_fits_the_editor_schema(where: str, text: str) -> None:
    validator = jsonschema.Draft7Validator(editor_schema(step_types()))
    problems = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(yaml.safe_load(text))
    ]
    assert problems == []


def test_the_authoring_guide_has_a_complete_runbook() -> None:
    assert any(where.startswith("authoring.md") for where, _ in complete_runbooks())


# Diagnostics ----------------------------------------------------------------------


def test_every_diagnostic_code_has_a_section() -> None:
    text = read("diagnostics.md")
    for code, info in CODES.items():
        assert f"\n## {code} {info.name}\n" in text, code


def test_every_code_the_docs_mention_exists() -> None:
    for page in sorted(DOCS.glob("*.md")):
        for code in set(re.findall(r"\bRB\d{3}\b", page.read_text(encoding="utf-8"))):
            assert code in CODES, f"{page.name} mentions {code}, which rb does not have"


def _expand_ellipsis(text: str) -> str:
    """`[h1, h2, ..., h1001]` (a list shortened for the docs) -> the full list."""

    def full(m: re.Match[str]) -> str:
        return "[" + ", ".join(f"{m[1]}{i}" for i in range(1, int(m[2]) + 1)) + "]"

    return re.sub(r"\[(\w+?)1, \1 ?2, \.\.\., \1(\d+)\]", full, text)


@pytest.mark.parametrize("code", [c for c in CODES if c != "RB001"])
def test_each_diagnostic_example_prints_exactly_the_lines_shown(code: str) -> None:
    section = sections(read("diagnostics.md"), "##")[f"{code} {CODES[code].name}"]
    (example,) = fenced(section, "yaml")
    (shown,) = fenced(section, "text")
    assert not example.startswith("id:")  # bad examples are not "complete runbooks"
    report = validate_loaded(load_text(_expand_ellipsis(example), "runbook.yaml"), step_types())
    got = [d.text() for d in report.diagnostics]
    assert got == shown.splitlines()
    assert any(d.code == code for d in report.diagnostics)


def test_the_unreadable_file_example_prints_the_line_shown(tmp_path: Path) -> None:
    section = sections(read("diagnostics.md"), "##")["RB001 file-unreadable"]
    (console,) = fenced(section, "console")
    shown = next(line for line in console.splitlines() if line.startswith("runbook.yaml:"))
    path = tmp_path / "runbook.yaml"
    path.write_bytes(b"id: caf\xe9\n")  # what the example's printf writes
    report = validate_loaded(load_file(path), step_types())
    assert [d.text().replace(str(path), "runbook.yaml") for d in report.diagnostics] == [shown]


# Step types -------------------------------------------------------------------------


def _step_type_sections() -> dict[str, str]:
    return sections(sections(read("authoring.md"), "##")["Step types"], "###")


def test_every_step_type_has_a_section_in_the_authoring_guide() -> None:
    documented = _step_type_sections()
    for name in step_types():
        assert name in documented, f"no '### {name}' under '## Step types' in authoring.md"


@pytest.mark.parametrize("name", sorted(step_types()))
def test_each_step_type_section_names_every_input_and_result_field(name: str) -> None:
    step_type = step_types()[name]
    section = _step_type_sections()[name]
    for prop in step_type.input_schema.get("properties", {}):
        assert f"| `{prop}` |" in section, f"{name}: input {prop!r} is not in its table"
    for field in step_type.result_fields or ():
        assert f"`{field}`" in section, f"{name}: result field {field!r} is not described"


@pytest.mark.parametrize("name", sorted(step_types()))
def test_each_step_type_example_is_a_valid_step(name: str) -> None:
    step_schema: dict[str, Any] = {
        "$ref": "#/definitions/step",
        "definitions": format_schema()["definitions"],
    }
    examples = fenced(_step_type_sections()[name], "yaml")
    assert examples, f"{name}: no example step"
    for block in examples:
        steps = yaml.safe_load(block)
        assert isinstance(steps, list), f"{name}: the example is not a list of steps"
        for step in steps:
            problems = [
                e.message for e in jsonschema.Draft7Validator(step_schema).iter_errors(step)
            ]
            assert problems == [], (name, problems)
            assert step["type"] == name
            assert jsonschema_check.is_valid(
                step_types()[name].input_schema, step.get("inputs", {}), expressions=True
            ), (name, step.get("inputs"))


# Expressions -------------------------------------------------------------------------


def test_every_function_is_in_the_authoring_guide() -> None:
    text = read("authoring.md")
    for name in FUNCTIONS:
        assert f"`{name}(" in text, name


def test_the_function_table_is_generated_from_the_descriptions() -> None:
    text = read("authoring.md")
    assert set(DESCRIPTIONS) == set(FUNCTIONS)
    for name, description in DESCRIPTIONS.items():
        signature, gives = description.split(": ", 1)
        row = "| `" + signature.replace(" or ", "` or `") + "` | " + gives + " |"
        assert f"\n{row}\n" in text, f"no row for {name}: {row}"


# Commands ------------------------------------------------------------------------------


def _subcommands(group: Any, prefix: str = "rb") -> list[str]:
    out = []
    for name, sub in getattr(group, "commands", {}).items():
        out.append(f"{prefix} {name}")
        out.extend(_subcommands(sub, f"{prefix} {name}"))
    return out


def test_every_command_is_mentioned_in_the_docs() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))
    commands = _subcommands(command_tree())
    assert "rb validate" in commands and "rb runs list" in commands
    for command in commands:
        assert re.search(rf"{re.escape(command)}\b", text), f"{command} is not in docs/"
