"""`rb serve` refuses a guessable API token and says how to make a good one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import run_rb


@pytest.mark.parametrize("token", ["x", "s3cret", "a" * 31])
def test_a_short_token_stops_rb_serve_with_a_recipe(project: Path, token: str) -> None:
    result = run_rb("serve", "--port", "0", cwd=project, env={"RB_API_TOKEN": token})
    assert result.returncode == 2
    assert f"RB_API_TOKEN is {len(token)} characters" in result.stderr
    assert "at least 32" in result.stderr
    assert "secrets.token_urlsafe(32)" in result.stderr
