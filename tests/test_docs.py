"""The docs say what rb does: examples validate, every code/type/function/command appears."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rb.cli.app import build_parser
from rb.diagnostics import CODES
from rb.expressions.functions import FUNCTIONS
from rb.loader import load_text
from rb.plugins import step_types
from rb.validate import validate_loaded

from .conftest import ROOT

DOCS = ROOT / "docs"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def runbook_blocks() -> list[tuple[str, str]]:
    found = []
    for page in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        for i, block in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
            if block.startswith("id:") and page.name != "diagnostics.md":
                found.append((f"{page.name}#{i}", block))
    return found


@pytest.mark.parametrize(("where", "text"), runbook_blocks(), ids=lambda v: v if "#" in v else "")
def test_every_complete_runbook_in_the_docs_is_valid(where: str, text: str) -> None:
    if where.startswith("README"):  # the README shows an excerpt: errors only
        report = validate_loaded(load_text(text, where), step_types())
        assert [d for d in report.diagnostics if d.severity.value == "error"] == []
        return
    report = validate_loaded(load_text(text, where), step_types())
    assert list(report.diagnostics) == []


def test_authoring_guide_has_a_complete_example() -> None:
    assert any(w.startswith("authoring.md") for w, _ in runbook_blocks())


def test_every_diagnostic_code_is_documented() -> None:
    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    for code, info in CODES.items():
        assert f"## {code} {info.name}\n" in text


def test_the_diagnostics_page_is_up_to_date(tmp_path: Path) -> None:
    before = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_diagnostics_doc.py")], check=True)
    after = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    assert after == before, "run scripts/gen_diagnostics_doc.py and commit docs/diagnostics.md"


def test_every_step_type_and_function_is_in_the_authoring_guide() -> None:
    text = (DOCS / "authoring.md").read_text(encoding="utf-8")
    for name in step_types():
        assert f"### {name}\n" in text
    for name in FUNCTIONS:
        assert f"`{name}(" in text


def test_every_command_is_documented() -> None:
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in [*DOCS.glob("*.md"), ROOT / "README.md"]
    )
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name in commands:
        assert f"rb {name}" in text, name
