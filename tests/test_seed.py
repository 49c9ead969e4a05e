"""The seed's own example runbook and acceptance pack, run as written.

tests/data/seed/ is a small project laid out as the seed asks (runbooks/,
fixtures/, expected/, screenshots/, acceptance/); its runbook is the seed's
text byte for byte (tests/test_loader.py checks that). Each test runs rb in a
copy of it, so nothing is written into the repository.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .conftest import DATA, run_rb

SEED = DATA / "seed"
RUNBOOK = "rb-001-entity-enrichment"


def seed_project(tmp_path: Path) -> Path:
    """A copy of the seed project, its links to the example runbooks' files followed."""
    root = tmp_path / "seed"
    shutil.copytree(SEED, root)
    return root


def test_rb_test_passes_on_the_seed_example_as_written(tmp_path: Path) -> None:
    root = seed_project(tmp_path)
    result = run_rb("test", RUNBOOK, "--fixture", "fixtures/golden-scenarios.json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ Step: ingest (200 entities)" in result.stdout
    assert "✓ Step: validate (195 valid entities, 5 errors)" in result.stdout
    assert "✓ Outputs match expected/golden-scenarios.json" in result.stdout
    assert result.stdout.endswith("PASS\n")


def test_the_seed_examples_bare_api_token_is_the_fixtures_secret_and_never_stored(
    tmp_path: Path,
) -> None:
    root = seed_project(tmp_path)
    env = {"RB_DATABASE_URL": f"sqlite:///{tmp_path}/rb.db"}
    result = run_rb(
        "test", RUNBOOK, "--fixture", "fixtures/golden-scenarios.json", cwd=root, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = run_rb("runs", "show", "last", "--format", "json", cwd=root, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "fixture-api-token" not in shown.stdout + result.stdout
    run = json.loads(shown.stdout)
    ingest = next(s for s in run["step_logs"] if s["step_id"] == "ingest")
    assert ingest["inputs"]["auth_token"] == "***"


def test_the_seeds_acceptance_pack_runs_as_written(tmp_path: Path) -> None:
    root = seed_project(tmp_path)
    pack = root / "acceptance" / RUNBOOK / "acceptance.yml"
    seed = Path(__file__).parents[2] / "shared" / "seeds" / "002_f089891ed1eb6658.txt"
    if seed.exists():  # the pack is the seed's text, byte for byte
        assert pack.read_text(encoding="utf-8").strip() in seed.read_text(encoding="utf-8")
    result = run_rb("acceptance", "--no-record", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split("  ") for line in result.stdout.splitlines()[1:3]]
    assert [[c.strip() for c in row if c.strip()] for row in rows] == [
        [RUNBOOK, "Happy path - 200 entities", "success", "4/4", "PASS"],
        [RUNBOOK, "Partial failure - schema errors", "success", "3/3", "PASS"],
    ]


def test_a_baseline_name_needs_a_single_screenshot_step(tmp_path: Path) -> None:
    root = seed_project(tmp_path)
    runbook = root / "runbooks" / "seed_example.yaml"
    text = runbook.read_text(encoding="utf-8")
    second = text[text.index("  - id: screenshot_ui") :].replace("screenshot_ui", "screenshot_2")
    runbook.write_text(text + "\n" + second, encoding="utf-8")
    result = run_rb("acceptance", "--no-record", cwd=root)
    assert result.returncode == 2
    assert (
        f"acceptance/{RUNBOOK}/acceptance.yml:10:9: error RB013 {RUNBOOK} has no step "
        "'entity-list', and a baseline name needs exactly one ui_screenshot step (it has 2: "
        "screenshot_ui, screenshot_2); key the baseline by its step id"
    ) in result.stderr
