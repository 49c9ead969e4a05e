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


def test_rb_serve_takes_its_guard_options_from_the_command_line() -> None:
    with rb_serve_process(
        "--allowed-host", "rb.example.com", "--allow-live-without-token", cwd=ROOT
    ) as served:
        public = httpx.get(f"{served.url}/api/runbooks", headers={"Host": "rb.example.com"})
        other = httpx.get(f"{served.url}/api/runbooks", headers={"Host": "evil.example"})
    assert (public.status_code, other.status_code) == (200, 403)
    assert "no token (RB_API_TOKEN is not set): live runs allowed" in served.process.output
