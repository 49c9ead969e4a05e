"""`rb serve` refuses a guessable API token and says how to make a good one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


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
