"""`rb serve --workers N`: several server processes on one port, as users run it."""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, run_rb
from .services import rb_serve_process

BODY = {
    "runbook_id": "rb-002-database-failover-check",
    "inputs": {},
    "fixture": "fixtures/database-failover-check.yaml",
}
RUNS = 24


def executions_total(metrics: str) -> float:
    found = re.findall(r'^rb_executions_total\{[^}]*status="success"[^}]*\} (\S+)$', metrics, re.M)
    return sum(float(v) for v in found)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_two_processes_serve_one_port_and_metrics_count_every_execution(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    db = f"sqlite:///{tmp_path}/serve.db"
    with rb_serve_process(
        "--db",
        db,
        "--workers",
        "2",
        "--no-access-log",
        cwd=ROOT,
        env={"NO_COLOR": "1"},
        stop_signal=stop_signal,
        stop_timeout=30,
    ) as served:
        served.process.wait_for_line("2 server processes share the socket", timeout=30)

        def run(_: int) -> str:
            answer = httpx.post(
                f"{served.url}/api/runbooks/execute", json=BODY, headers=served.headers, timeout=60
            )
            assert answer.status_code == 200, answer.text
            return str(answer.json()["id"])

        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(run, range(RUNS)))
        # Each process reads the shared store: any of them shows any run.
        for execution_id in ids[:4]:
            shown = httpx.get(
                f"{served.url}/api/executions/{execution_id}", headers=served.headers, timeout=30
            )
            assert shown.json()["status"] == "success"
        # Whichever process answers the scrape counts the executions of both.
        for _ in range(4):
            metrics = httpx.get(f"{served.url}/metrics", headers=served.headers, timeout=30).text
            assert executions_total(metrics) == RUNS
            assert "rb_executions_in_progress 0.0" in metrics
    assert served.process.returncode == 0, served.process.output
    assert served.process.output.count("Application shutdown complete") == 2


def test_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/serve.db"
    with rb_serve_process("--db", db, cwd=ROOT, env={"NO_COLOR": "1"}) as first:
        port = first.url.rsplit(":", 1)[1]
        result = run_rb("serve", "--db", db, "--workers", "2", "--port", port)
        assert result.returncode == 2, result.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
