"""The example runbooks' acceptance packs, `make smoke`, and the docs about them."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rb.acceptance.pack import Kind, Pack, find_pack, load_pack
from rb.cli.app import check_usage
from rb.errors import ERROR_KINDS
from rb.service.runbooks import runbook_id_of

from .conftest import ROOT, run_rb

RUNBOOK_IDS = sorted(
    i for i in (runbook_id_of(p) for p in (ROOT / "runbooks").glob("*.yaml")) if i is not None
)
MALFORMED = {"schema_validation", "output", "invalid_input"}  # what bad data leads to


def example_pack(runbook_id: str, monkeypatch: pytest.MonkeyPatch) -> Pack:
    monkeypatch.chdir(ROOT)  # pack paths are relative to the project root
    path = find_pack(runbook_id)
    assert path is not None, f"{runbook_id} has no acceptance/{runbook_id}/acceptance.yml"
    return load_pack(path)


def expected_types(pack: Pack) -> set[str]:
    return {
        t
        for s in pack.scenarios
        for c in s.expected.checks
        if c.kind is Kind.ERROR_TYPES
        for t in c.want.value
    }


def test_there_are_four_example_runbooks() -> None:
    assert len(RUNBOOK_IDS) == 4


@pytest.mark.parametrize("runbook_id", RUNBOOK_IDS)
def test_each_example_has_a_happy_path_and_500_timeout_and_malformed_data_scenarios(
    runbook_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = example_pack(runbook_id, monkeypatch)
    happy = [s for s in pack.scenarios if s.expected.status == "success"]
    assert happy, "no happy path"
    failing = [
        s
        for s in pack.scenarios
        if any(c.kind is Kind.STEP and c.want.value == "failed" for c in s.expected.checks)
    ]
    assert len(failing) >= 2, "fewer than two scenarios in which a step fails"
    types = expected_types(pack)
    assert {"http_status", "timeout"} <= types and types & MALFORMED, types
    # Each failure scenario says what happened to the other steps: that is
    # what proves the on_failure policy (skipped, still ran, rolled back).
    for s in failing:
        states = {c.want.value for c in s.expected.checks if c.kind is Kind.STEP}
        assert states - {"failed"}, f"{s.name}: no step besides the failed one is checked"


def test_every_on_failure_policy_of_the_examples_is_proven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    states = {
        c.want.value
        for runbook_id in RUNBOOK_IDS
        for s in example_pack(runbook_id, monkeypatch).scenarios
        for c in s.expected.checks
        if c.kind is Kind.STEP
    }
    # abort skips, log_and_continue lets later steps succeed, rollback compensates.
    assert {"failed", "skipped", "succeeded", "rolled_back"} <= states


def test_every_example_pack_passes() -> None:
    result = run_rb("acceptance", "--no-record")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    rows = lines[1 : lines.index("")]
    assert {row.split()[0] for row in rows} == set(RUNBOOK_IDS)
    assert all(row.endswith("PASS") for row in rows), result.stdout
    assert re.fullmatch(
        rf"{len(rows)} scenarios in 4 packs: {len(rows)} passed, 0 failed", lines[-1]
    )


# make smoke -------------------------------------------------------------------------------


def _makefile_golden() -> list[tuple[str, str]]:
    text = (ROOT / "Makefile").read_text()
    block = text.split("GOLDEN :=", 1)[1].split("\n\n", 1)[0]
    pairs = re.findall(r"([\w-]+):(fixtures/\S+)", block)
    return [(runbook, fixture) for runbook, fixture in pairs]


def test_make_smoke_tests_every_golden_fixture_with_its_runbook() -> None:
    from rb.world.fixture_format import load_fixture

    golden = sorted(p for p in (ROOT / "fixtures").glob("*.*"))
    listed = _makefile_golden()
    assert sorted(fixture for _, fixture in listed) == [str(p.relative_to(ROOT)) for p in golden]
    for runbook, fixture in listed:
        assert load_fixture(ROOT / fixture).runbook == runbook


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_smoke_validates_tests_replays_and_accepts_every_example(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        ["make", "--no-print-directory", "smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**_env(), "RB_DATABASE_URL": f"sqlite:///{tmp_path}/rb.db"},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "runbooks checked: no problems" in out
    assert out.count("\nPASS\n") == len(_makefile_golden())
    assert out.count("REPLAY VERIFIED") == len(_makefile_golden())
    assert out.rstrip().endswith(" passed, 0 failed")


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "NO_COLOR": "1"}


# Docs -------------------------------------------------------------------------------------


def _doc(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def test_the_docs_describe_every_error_type_and_step_state() -> None:
    text = _doc("acceptance.md")
    for kind in ERROR_KINDS:
        assert f"\n| `{kind}` |" in text, kind
    for state in ("succeeded", "failed", "skipped", "rolled_back", "ran"):
        assert f"\n| `{state}` |" in text, state


def test_the_docs_describe_every_key_of_the_format() -> None:
    from rb import schemas

    text = _doc("acceptance.md")
    schema = schemas.load("acceptance")
    keys = [
        *schema["properties"],
        *schema["definitions"]["scenario"]["properties"],
        *schema["definitions"]["expected"]["properties"],
    ]
    for key in keys:
        assert f"| `{key}` |" in text, key


def test_every_pack_in_the_docs_fits_the_format() -> None:
    import jsonschema

    from rb import schemas

    blocks = re.findall(r"```yaml\n(.*?)```", _doc("acceptance.md") + _doc("../README.md"), re.S)
    packs = [yaml.safe_load(b) for b in blocks if b.startswith(("scenarios:", "description:"))]
    assert len(packs) >= 3
    validator = jsonschema.Draft7Validator(schemas.load("acceptance"))
    for pack in packs:
        assert [e.message for e in validator.iter_errors(pack)] == []


def _workflow() -> dict[str, Any]:
    (block,) = re.findall(r"```yaml\n(.*?)```", _doc("ci.md"), re.S)
    workflow: dict[str, Any] = yaml.safe_load(block)
    return workflow


def test_the_ci_workflow_validates_with_annotations_and_uploads_acceptance_junit() -> None:
    jobs = _workflow()["jobs"]
    runs = {name: [s.get("run", "") for s in job["steps"]] for name, job in jobs.items()}
    assert "rb validate runbooks/ --format github --strict" in runs["validate"]
    (acceptance,) = [r for r in runs["acceptance"] if r.startswith("rb acceptance")]
    junit = shlex.split(acceptance)[shlex.split(acceptance).index("--junit") + 1]
    (upload,) = [s for s in jobs["acceptance"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload["if"] == "always()" and upload["with"]["path"] == junit
    assert jobs["acceptance"]["needs"] == "validate"


def test_every_rb_command_in_the_ci_docs_parses() -> None:
    text = _doc("ci.md")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("rb ")]
    commands += [
        s["run"]
        for job in _workflow()["jobs"].values()
        for s in job["steps"]
        if s.get("run", "").startswith("rb ")
    ]
    assert len(commands) >= 4
    for command in commands:
        check_usage(shlex.split(command)[1:])  # raises (fails the test) when invalid
