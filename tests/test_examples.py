"""Every example runbook has a golden fixture, and `rb test` passes on each."""

from __future__ import annotations

from pathlib import Path

import pytest

from rb.service.runbooks import find_runbook
from rb.world.fixture_format import load_fixture

from .conftest import ROOT
from .test_run_commands import rb

FIXTURES = sorted((ROOT / "fixtures").glob("*.*"))


def test_every_example_runbook_has_a_fixture() -> None:
    covered = {load_fixture(f).runbook for f in FIXTURES}
    ids = set()
    for path in (ROOT / "runbooks").glob("*.yaml"):
        for line in path.read_text().splitlines():
            if line.startswith("id:"):
                ids.add(line.split(":", 1)[1].strip())
    assert ids and ids <= covered


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_rb_test_passes_on_each_golden_fixture(
    fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runbook = load_fixture(fixture).runbook
    assert runbook is not None
    monkeypatch.chdir(ROOT)
    assert find_runbook(runbook).exists()
    result = rb(ROOT, "test", runbook, "--fixture", str(fixture.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"✓ Outputs match expected/{fixture.stem}.json" in result.stdout
    assert result.stdout.endswith("PASS\n")
