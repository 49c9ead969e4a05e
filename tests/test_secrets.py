"""A secret's value appears nowhere: not in output, reports, JUnit or events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rb.engine.events import RunStarted, StepFailed, StepSucceeded

from .engine_helpers import run

CANARY = "canary-7f3a9e-do-not-leak"

RUNBOOK = """\
id: leak-check
name: Leak check
version: "1"
steps:
  - id: login
    type: data_fetch
    inputs:
      source_url: "http://api.test/login?key=${secrets.API_KEY}"
      auth_token: "${secrets.API_KEY}"
    outputs: {echo: "$.token", message: "${'token is ' + result.body.token}"}
  - id: use
    type: shell
    depends_on: [login]
    inputs: {command: deploy, args: ["--token", "${steps.login.outputs.echo}"]}
  - id: fail
    type: shell
    depends_on: [use]
    inputs: {command: fail, args: ["${secrets.API_KEY}"]}
"""

FIXTURE = f"""\
secrets: {{API_KEY: {CANARY}}}
http:
  - request: {{url: "http://api.test/login?key={CANARY}"}}
    response: {{json: {{token: {CANARY}}}}}
shell:
  - {{request: {{command: deploy}}, response: {{stdout: "deployed with {CANARY}"}}}}
  - {{request: {{command: fail}}, response: {{exit_code: 1, stderr: "bad key {CANARY}"}}}}
"""


def test_events_carry_masked_values_only() -> None:
    result, events = run(RUNBOOK, FIXTURE)
    assert result.status == "failure"
    assert CANARY not in repr([e for _, e in events.events])
    succeeded = {e.step_id: e for e in events.of(StepSucceeded)}
    assert succeeded["login"].inputs["auth_token"] == "***"
    assert succeeded["login"].outputs == {"echo": "***", "message": "token is ***"}
    (failed,) = events.of(StepFailed)
    assert failed.error == "fail exited with 1: bad key ***"
    assert events.of(RunStarted)[0].params == {}
    assert CANARY not in json.dumps(result.outputs())


def test_rb_test_output_json_report_junit_and_golden_never_show_it(tmp_path: Path) -> None:
    (tmp_path / "rb.yaml").write_text(RUNBOOK)
    (tmp_path / "fx.yaml").write_text(FIXTURE)
    env = {**os.environ, "NO_COLOR": "1"}

    def rb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rb", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    text = rb("test", "rb.yaml", "--fixture", "fx.yaml", "--junit", "junit.xml", "--update")
    report = rb("test", "rb.yaml", "--fixture", "fx.yaml", "--format", "json")
    assert text.returncode == 1 and report.returncode == 1
    assert "✗ Step: fail (failed: fail exited with 1: bad key ***)" in text.stdout
    for content in (
        text.stdout,
        text.stderr,
        report.stdout,
        report.stderr,
        (tmp_path / "junit.xml").read_text(),
        (tmp_path / "expected" / "fx.json").read_text(),
    ):
        assert CANARY not in content
        assert content == "" or "***" in content or content.startswith("<?xml")
