"""`rb runs stats`: real fixture runs recorded on SQLite and PostgreSQL, then counted.

Fixture runs keep virtual time, so every duration and latency below is exact.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rb.store.stats import percentile, spread

from .conftest import run_rb

RUNBOOK = """\
id: stats-demo
name: Stats demo
version: "1.0.0"
owner: ops
description: Two API calls, the first retried once.
steps:
  - id: fetch
    type: api_call
    description: Read the items.
    inputs:
      url: "http://api.test/items?page=1"
      method: GET
    retry:
      max_attempts: 2
      initial_delay_seconds: 1
    on_failure: abort
  - id: save
    type: api_call
    description: Save them.
    depends_on: [fetch]
    inputs:
      url: "http://api.test/save"
      method: POST
      json: {n: 1}
"""
_SAVE = """\
- step: save
  request: {method: POST, url: "http://api.test/save", json: {n: 1}}
  response: {status: 201, json: {}, latency_seconds: 1}
"""
_FETCH = """\
runbook: stats-demo
http:
- step: fetch
  request: {method: GET, url: "http://api.test/items?page=1"}
"""
FIXTURES = {
    # 2 s + 1 s: a 3 s run.
    "ok": _FETCH + "  response: {status: 200, json: {items: []}, latency_seconds: 2}\n" + _SAVE,
    # A 503 after 4 s, 1 s back-off, 200 after 2 s, then save: an 8 s run.
    "retry": _FETCH
    + "  responses:\n"
    + "  - {status: 503, latency_seconds: 4}\n"
    + "  - {status: 200, json: {items: []}, latency_seconds: 2}\n"
    + _SAVE,
    # A timeout (the api_call's default 3600 s), 1 s back-off, then refused: fails at 3601 s.
    "down": _FETCH + "  responses:\n  - {fault: timeout}\n  - {fault: connection_error}\n",
}


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "runbooks").mkdir(parents=True)
    (root / "fixtures").mkdir()
    (root / "runbooks" / "stats-demo.yaml").write_text(RUNBOOK)
    for name, text in FIXTURES.items():
        (root / "fixtures" / f"{name}.yaml").write_text(text)
    return root


def _rb(root: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_rb(*args, cwd=root, env={"RB_DATABASE_URL": db})


def _record(root: Path, db: str, fixture: str) -> None:
    # --update: the golden outputs are not what these tests are about (CI never writes them).
    done = _rb(root, db, "test", "stats-demo", "--fixture", f"fixtures/{fixture}.yaml", "--update")
    assert done.returncode == (1 if fixture == "down" else 0), done.stdout + done.stderr


def _stats(root: Path, db: str, *args: str) -> Any:
    """`rb runs stats stats-demo --format json ARGS`, parsed."""
    done = _rb(root, db, "runs", "stats", "stats-demo", "--format", "json", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert (percentile(values, 50), percentile(values, 95)) == (10.0, 19.0)
    assert (percentile([1.0, 2.0, 3.0], 50), percentile([1.0, 2.0, 3.0], 95)) == (2.0, 3.0)
    assert percentile([], 50) is None
    assert spread([3.0, 1.0, 2.0]).to_json() == {"count": 3, "p50": 2.0, "p95": 3.0, "max": 3.0}


def test_stats_of_recorded_fixture_runs(store_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path)
    _record(root, store_url, "ok")
    _record(root, store_url, "retry")
    between = datetime.now(UTC)
    _record(root, store_url, "down")

    s = _stats(root, store_url, "--world", "fixture")
    assert (s["runs"], s["finished"], s["statuses"]) == (3, 3, {"failure": 1, "success": 2})
    assert s["success_rate"] == pytest.approx(2 / 3)
    assert s["percentiles"] == "nearest-rank"
    assert s["duration"] == {"count": 3, "p50": 8.0, "p95": 3601.0, "max": 3601.0}
    fetch, save = s["steps"]
    assert fetch["step_id"] == "fetch" and (fetch["ran"], fetch["skipped"]) == (3, 0)
    assert fetch["duration"] == {"count": 3, "p50": 7.0, "p95": 3601.0, "max": 3601.0}
    assert fetch["retried_rate"] == pytest.approx(2 / 3)
    assert fetch["failure_rate"] == pytest.approx(1 / 3)
    assert (save["step_id"], save["ran"], save["skipped"]) == ("save", 2, 1)
    assert (save["duration"]["p95"], save["retried_rate"], save["failure_rate"]) == (1.0, 0, 0)

    items, posted = s["endpoints"]
    # Without the query string; latencies 2, 4, 2, 3600 (the timeout) and 0 (refused).
    assert (items["kind"], items["target"]) == ("http", "GET http://api.test/items")
    assert items["latency"] == {"count": 5, "p50": 2.0, "p95": 3600.0, "max": 3600.0}
    assert (items["errors"], items["error_rate"]) == (3, 0.6)
    assert (posted["target"], posted["count"], posted["errors"]) == (
        "POST http://api.test/save",
        2,
        0,
    )

    # Error kinds per bucket: the retry run's 503, the down run's timeout and refusal,
    # and its failed step (kind: connection). Buckets start at each run's recorded hour.
    runs = json.loads(_rb(root, store_url, "runs", "list", "--format", "json").stdout)
    hour = {
        r["status"]: datetime.fromisoformat(r["recorded_at"])
        .astimezone(UTC)
        .replace(minute=0, second=0, microsecond=0)
        .isoformat()
        for r in runs
        if r["status"] == "failure" or r["duration_seconds"] == 8.0
    }
    expected = Counter(
        {
            (hour["success"], "exchange", "http_503"): 1,
            (hour["failure"], "exchange", "timeout"): 1,
            (hour["failure"], "exchange", "connection"): 1,
            (hour["failure"], "step", "connection"): 1,
        }
    )
    hourly = _stats(root, store_url, "--world", "fixture", "--bucket", "1h")["errors"]
    got = Counter({(e["bucket"], e["source"], e["kind"]): e["count"] for e in hourly})
    assert got == expected
    keys = [(e["bucket"], e["source"], e["kind"]) for e in hourly]
    assert keys == sorted(keys)  # a deterministic order: bucket, source, kind

    later = _stats(root, store_url, "--world", "fixture", "--since", between.isoformat())
    assert (later["runs"], later["statuses"], later["success_rate"]) == (1, {"failure": 1}, 0.0)
    assert _stats(root, store_url, "--world", "all")["runs"] == 3

    text = _rb(root, store_url, "runs", "stats", "stats-demo", "--world", "fixture")
    assert text.returncode == 0, text.stderr
    for seen in ("3 runs (fixture)", "66.7%", "GET http://api.test/items", "3 (60.0%)", "http_503"):
        assert seen in text.stdout, text.stdout


def test_no_runs_in_the_window_replays_aside_and_an_unknown_runbook(tmp_path: Path) -> None:
    root = _project(tmp_path)
    db = f"sqlite:///{tmp_path}/store.db"
    _record(root, db, "ok")
    live = _rb(root, db, "runs", "stats", "stats-demo")  # the default: live runs only
    assert live.returncode == 0
    assert live.stdout.startswith("no live runs of stats-demo recorded since "), live.stdout
    assert _stats(root, db)["runs"] == 0
    assert _rb(root, db, "replay", "last").returncode == 0
    assert _stats(root, db, "--world", "all")["runs"] == 1  # a replay is not an operation
    unknown = _rb(root, db, "runs", "stats", "stats-dmeo")
    assert unknown.returncode == 1
    assert "no runs of runbook 'stats-dmeo' recorded in" in unknown.stderr
    bad = _rb(root, db, "runs", "stats", "stats-demo", "--bucket", "5m")
    assert bad.returncode == 2 and "--bucket takes a number of hours or days" in bad.stderr
