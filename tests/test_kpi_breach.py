"""A run whose procedure succeeded but breached a KPI: both facts, and no PASS.

The entity enrichment runbook against its malformed-entities fixture: every
step succeeds (4 of 10 entities are set aside), and the success-rate KPIs
are missed.
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import ROOT, run_rb

RUNBOOK = "rb-001-entity-enrichment"
FIXTURE = "fixtures/failures/entity-enrichment--malformed-entities.yaml"
BREACHED = ["min_success_rate", "max_error_rate"]


def test_rb_test_fails_a_completed_run_that_breached_a_kpi(tmp_path: Path) -> None:
    args = ("test", RUNBOOK, "--fixture", FIXTURE, "--expect", str(tmp_path / "x.json"))
    result = run_rb(*args, "--update", "--no-record")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ KPI: min_success_rate (0.6 < 0.95)" in result.stdout
    assert result.stdout.endswith("FAIL\n")
    report = json.loads(run_rb(*args, "--no-record", "--format", "json").stdout)
    assert (report["status"], report["kpis_breached"], report["passed"]) == (
        "success",
        BREACHED,
        False,
    )


def test_runs_list_and_show_keep_the_status_and_name_the_breach(tmp_path: Path) -> None:
    env = {"RB_DATABASE_URL": f"sqlite:///{tmp_path}/rb.db"}
    expect = str(tmp_path / "x.json")
    run_rb("test", RUNBOOK, "--fixture", FIXTURE, "--expect", expect, "--update", env=env)
    listed = run_rb("runs", "list", env=env).stdout.splitlines()
    assert "success (KPI breached)" in listed[1]
    shown = run_rb("runs", "show", "last", env=env).stdout
    assert "  status    success (KPI breached: min_success_rate, max_error_rate)" in shown
    plain = json.loads(run_rb("runs", "list", "--format", "json", env=env).stdout)
    assert (plain[0]["status"], plain[0]["kpis_breached"]) == ("success", BREACHED)


def test_a_success_scenario_fails_on_a_breach_unless_it_names_the_kpis(tmp_path: Path) -> None:
    pack = tmp_path / RUNBOOK / "acceptance.yml"
    pack.parent.mkdir()
    scenario = f"  - name: Partial\n    fixture: {FIXTURE}\n    expected:\n      status: success\n"
    pack.write_text(
        "scenarios:\n"
        + scenario
        + scenario.replace("Partial", "Named")
        + f"      kpis_breached: [{', '.join(BREACHED)}]\n",
        encoding="utf-8",
    )
    result = run_rb("acceptance", str(pack), "--no-record", cwd=ROOT)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1].split()[-3:] == ["breached)", "0/1", "FAIL"]
    assert lines[2].split()[-3:] == ["breached)", "2/2", "PASS"]
    assert (
        f"  {pack}:5:7: status: expected success (every KPI met), got success "
        "(KPI breached: min_success_rate, max_error_rate)"
    ) in lines
