"""`rb replay` and `rb runs` verdicts as a user reads them (issue 11)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .conftest import ROOT, run_rb
from .servers import TestServer

GOLDEN = ROOT / "fixtures" / "golden-scenarios.json"
ENRICHMENT = "rb-001-entity-enrichment"


def rb(*args: str, db: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_rb(*args, cwd=cwd, env={"RB_DATABASE_URL": db, "CI": ""})


def changed_enrichment(tmp_path: Path, old: str, new: str) -> Path:
    """The example runbook with one change, beside the files it reads."""
    source = (ROOT / "runbooks" / "entity-enrichment.yaml").read_text()
    assert old in source
    changed = tmp_path / "entity-enrichment.yaml"
    changed.write_text(source.replace(old, new))
    for extra in ("entity-v2.json", "enrichment-query.graphql"):
        (tmp_path / extra).write_text((ROOT / "runbooks" / extra).read_text())
    return changed


@pytest.fixture
def recorded(tmp_path: Path) -> str:
    """A store holding one `rb test` run of the example runbook."""
    db = f"sqlite:///{tmp_path}/store.db"
    done = rb("test", ENRICHMENT, "--fixture", str(GOLDEN), db=db)
    assert done.returncode == 0, done.stdout + done.stderr
    return db


def test_a_raised_kpi_threshold_diverges_on_the_kpi_and_the_run_status(
    recorded: str, tmp_path: Path
) -> None:
    changed = changed_enrichment(tmp_path, "threshold: 0.95", "threshold: 0.98")
    result = rb("replay", "last", "--definition", str(changed), db=recorded)
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "✓ Step: ingest (200 entities fetched, matches original)"  # the seed's
    assert "✗ KPI: min_success_rate (was met at 0.975, now not met: 0.975 < 0.98)" in lines
    assert "✓ KPI: max_error_rate (met at 0.025, matches original)" in lines
    assert "✗ Status: was success, now success (KPI breached: min_success_rate)" in lines
    assert lines[-2] == "REPLAY DIVERGED"
    report = json.loads(
        rb("replay", "last", "--definition", str(changed), "--format", "json", db=recorded).stdout
    )
    assert report["verified"] is False
    status = next(c for c in report["checks"] if c["kind"] == "Status")
    assert (status["original"], status["replay"], status["matches"]) == (
        "success",
        "success (KPI breached: min_success_rate)",
        False,
    )


def test_a_step_that_now_fails_says_why(recorded: str, tmp_path: Path) -> None:
    changed = changed_enrichment(
        tmp_path, 'valid_count: "$.valid_count"', 'valid_count: "$.valid_counts"'
    )
    result = rb("replay", "last", "--definition", str(changed), db=recorded)
    assert result.returncode == 1
    assert (
        "✗ Step: validate (was succeeded, now failed: outputs: output 'valid_count': "
        "$.valid_counts matched nothing in the result" in result.stdout
    )


def test_replay_last_replays_the_last_run_that_is_not_a_replay(
    recorded: str, tmp_path: Path
) -> None:
    original = json.loads(rb("runs", "list", "--format", "json", db=recorded).stdout)[0]["id"]
    changed = changed_enrichment(tmp_path, "threshold: 0.95", "threshold: 0.98")
    assert rb("replay", "last", "--definition", str(changed), db=recorded).returncode == 1
    again = json.loads(rb("replay", "last", "--format", "json", db=recorded).stdout)
    assert again["execution_id"] == original and again["verified"] is True
    listing = rb("runs", "list", db=recorded).stdout.splitlines()
    assert listing[0].split()[:6] == ["ID", "RUNBOOK", "KIND", "STATUS", "RECORDED", "(UTC)"]
    kinds = [line.split()[2:5] for line in listing[1:]]
    assert kinds == [
        ["replay", "of", original[:8]],
        ["replay", "of", original[:8]],
        ["test", "success", datetime.now(UTC).strftime("%Y-%m-%d")],
    ]


def test_runs_list_shows_real_recording_times_and_says_when_more_exist(
    recorded: str,
) -> None:
    rb("replay", "last", db=recorded)
    text = rb("runs", "list", "--limit", "1", db=recorded).stdout.splitlines()
    assert len(text) == 3
    assert text[1].split()[6] == datetime.now(UTC).strftime("%Y-%m-%d")  # not 2025-11-29
    assert text[2] == "(the newest 1 shown; more match: use --limit N or --since)"
    assert len(rb("runs", "list", db=recorded).stdout.splitlines()) == 3  # all shown, no note
    assert "default 20" in rb("runs", "list", "--help", db=recorded).stdout
    listing = json.loads(rb("runs", "list", "--format", "json", db=recorded).stdout)
    assert listing[0]["kind"] == f"replay of {listing[1]['id'][:8]}"
    assert listing[0]["recorded_at"] > listing[1]["recorded_at"]


POLL = """\
id: poll
name: Poll until healthy
version: "1"
kpis:
  max_duration_seconds: 600
steps:
  - id: ready
    type: wait
    inputs:
      until: "${{result.status == 200}}"
      poll: {{url: "{url}"}}
      interval_seconds: 0.01
      timeout_seconds: 60
    outputs: {{waited: "$.waited_seconds", polls: "$.polls"}}
"""


def test_a_live_poll_replays_without_timing_noise_and_a_shorter_poll_diverges(
    http_server: TestServer, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    (tmp_path / "poll.yaml").write_text(POLL.format(url=http_server.url("/health")))
    done = rb("run", "poll.yaml", db=db, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r.path for r in http_server.requests] == ["/health"] * 3

    same = rb("replay", "last", db=db, cwd=tmp_path)
    assert same.returncode == 0, same.stdout
    lines = same.stdout.splitlines()
    assert lines[0].startswith("✓ Step: ready (condition true after ")
    note = next(line for line in lines if line.startswith("- Not compared: ready.waited: "))
    assert note.endswith("in the replay (read from the clock in a live run)")
    assert any(
        line.startswith("- Not compared: KPI max_duration_seconds: ")
        and line.endswith("(read from the clock in a live run; its verdict is compared)")
        for line in lines
    )
    assert "✓ KPI: max_duration_seconds (met, matches original)" in lines
    assert lines[-2] == "REPLAY VERIFIED"

    # Two polls now satisfy the condition: the recorded third is never sent.
    (tmp_path / "changed.yaml").write_text(
        POLL.format(url=http_server.url("/health")).replace(
            "result.status == 200", "result.body.calls >= 2"
        )
    )
    shorter = rb("replay", "last", "--definition", "changed.yaml", db=db, cwd=tmp_path)
    assert shorter.returncode == 1
    assert (
        f"✗ Request: the recording holds GET {http_server.url('/health')} 3 times "
        "(step 'ready'); the replay sent it 2 times" in shorter.stdout
    )
    assert "    $.polls: expected 3, got 2" in shorter.stdout


BIG = """\
id: big
name: Big body
version: "1"
steps:
  - id: send
    type: api_call
    inputs:
      url: "http://api.test/items"
      method: POST
      json: {items: "${params.items}"}
parameters:
  items: {type: array}
"""


def _items(changed: int | None = None) -> list[dict[str, str]]:
    items = [{"id": f"e-{i}", "name": "entity " + "x" * 80} for i in range(200)]
    if changed is not None:
        items[changed] = {**items[changed], "name": "renamed"}
    return items


def test_a_body_mismatch_names_paths_and_the_fixture_line_not_the_whole_body(
    tmp_path: Path,
) -> None:
    (tmp_path / "big.yaml").write_text(BIG)
    fixture = {
        "params": {"items": _items(changed=7)},
        "http": [
            {"request": {"method": "GET", "url": "http://api.test/health"}, "response": {}},
            {
                "request": {
                    "method": "POST",
                    "url": "http://api.test/items",
                    "json": {"items": _items()},
                },
                "response": {"status": 201, "json": {"ok": True}},
            },
        ],
    }
    text = json.dumps(fixture, indent=2)
    (tmp_path / "fixture.json").write_text(text)
    entries = [i for i, t in enumerate(text.splitlines(), 1) if t == "    {"]  # exchanges
    done = run_rb(
        "test",
        "big.yaml",
        "--fixture",
        "fixture.json",
        "--no-record",
        cwd=tmp_path,
        env={"CI": ""},
    )
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert max(len(x) for x in out.splitlines()) < 400, out  # never the 20 KB body
    assert (
        f"  - POST http://api.test/items (fixture.json:{entries[1]}): body differs at "
        '$.json.items[7].name (fixture "entity ' + "x" * 29 + '..., request "renamed")'
    ) in out


@pytest.mark.usefixtures("chromium")
def test_runs_show_a_live_run_with_a_screenshot(http_server: TestServer, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    (tmp_path / "shot.yaml").write_text(f"""\
id: shot
name: Shot
version: "1"
steps:
  - id: page
    type: ui_screenshot
    inputs: {{url: "{http_server.url("/plain")}", full_page: true}}
""")
    assert rb("run", "shot.yaml", db=db, cwd=tmp_path).returncode == 0
    shown = rb("runs", "show", "last", db=db, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"page                 #1 screenshot of {http_server.url('/plain')} -> " in (
        shown.stdout
    )
    assert "  status    success  (live, by " in shown.stdout
