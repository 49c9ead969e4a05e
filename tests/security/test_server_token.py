"""`rb serve` from the command line: a guessable API token stops it (with how to
make a good one); the guard's options reach the server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..conftest import ROOT
from ..services import rb_serve_process


@pytest.mark.parametrize("token", ["x", "s3cret", "a" * 31])
def test_a_short_token_stops_rb_serve_with_a_recipe(project: Path, token: str) -> None:
    # A timeout: a server that accepted the token would serve until killed.
    result = subprocess.run(
        [sys.executable, "-m", "rb", "serve", "--port", "0"],
        cwd=project,
        env={**os.environ, "NO_COLOR": "1", "RB_API_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"RB_API_TOKEN is {len(token)} characters" in result.stderr
    assert "at least 32" in result.stderr
    assert "secrets.token_urlsafe(32)" in result.stderr


def test_rb_serve_takes_its_guard_options_and_token_from_the_command_line() -> None:
    with rb_serve_process("--allowed-host", "rb.example.com", cwd=ROOT) as served:
        public = httpx.get(
            f"{served.url}/api/runbooks", headers={"Host": "rb.example.com", **served.headers}
        )
        other = httpx.get(
            f"{served.url}/api/runbooks", headers={"Host": "evil.example", **served.headers}
        )
        anonymous = httpx.get(f"{served.url}/api/runbooks")
    assert (public.status_code, other.status_code, anonymous.status_code) == (200, 403, 401)
    assert "RB_API_TOKEN is identity api-token, role admin" in served.process.output


def test_rb_serve_without_any_token_warns_that_it_refuses_everything(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    env = {"RB_API_TOKEN": "", "RB_DATABASE_URL": f"sqlite:///{tmp_path}/rb.db"}
    with rb_serve_process(cwd=tmp_path, env=env) as served:
        refused = httpx.get(f"{served.url}/api/runbooks")
    assert refused.status_code == 401
    # Logged at start, before uvicorn says it is running.
    assert "no API token: RB_API_TOKEN is not set" in served.process.output
    assert "rb tokens create" in served.process.output
