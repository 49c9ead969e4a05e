"""One invalid runbook per diagnostic: code, line, column and message.

Each file in tests/data/invalid/ starts with `# expect: CODE LINE:COL message`
lines; the message is matched as a prefix of what rb reports. The file must
produce exactly those diagnostics and no others.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rb.diagnostics import CODES
from rb.loader import load_file
from rb.plugins import step_types
from rb.validate import validate_loaded

from .conftest import DATA

INVALID = sorted((DATA / "invalid").glob("*.yaml"))
_EXPECT = re.compile(r"# expect: (RB\d{3}) (\d+):(\d+) (.+)")


def expectations(path: Path) -> list[tuple[str, int, int, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _EXPECT.match(line)
        if m:
            out.append((m[1], int(m[2]), int(m[3]), m[4]))
    return out


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_runbook_reports_its_diagnostic(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    report = validate_loaded(load_file(path), step_types())
    got = [(d.code, d.line, d.col, d.message) for d in report.diagnostics]
    assert len(got) == len(expected), got
    for code, line, col, message in expected:
        matches = [g for g in got if g[0] == code and g[1] == line and g[2] == col]
        assert matches, f"no {code} at {line}:{col} in {got}"
        assert matches[0][3].startswith(message), matches[0][3]
        assert all(d.file == str(path) for d in report.diagnostics)


def test_every_code_has_an_invalid_runbook() -> None:
    covered = {code for p in INVALID for code, *_ in expectations(p)}
    # RB001 (unreadable file) is tested in test_loader.py: it needs a bad file, not YAML.
    assert set(CODES) - covered == {"RB001"}
