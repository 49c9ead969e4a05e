"""Secrets stay masked: transforms are refused, encoded forms are masked too."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rb.engine.events import StepSucceeded
from rb.engine.scope import RunScope
from rb.engine.secrets import Masker
from rb.expressions import ExpressionError, render_string
from rb.loader import load_text
from rb.plugins import step_types
from rb.validate import validate_loaded

from ..services import live_env, run_live

SECRET = "s3cr3t-Token/+=&?x"

HEAD = 'id: leak\nname: Leak\nversion: "1"\n'


def diagnostics(steps: str, extra: str = "") -> list[str]:
    report = validate_loaded(load_text(HEAD + extra + steps, "rb.yaml"), step_types())
    return [f"{d.line}:{d.col} {d.code}" for d in report.diagnostics]


def fetch(inputs: str, more: str = "") -> str:
    return (
        "steps:\n  - id: f\n    type: data_fetch\n"
        f"    inputs: {{source_url: 'http://api.test/x', {inputs}}}\n{more}"
    )


@pytest.mark.parametrize(
    "expression",
    [
        "${lower(secrets.K)}",
        "${secrets.K[::-1]}",
        "${secrets.K[0:3]}",
        "${split(secrets.K, '-')}",
        "${secrets.K + 'x'}",
        "${json(secrets)}",
        "x${upper(secrets['K'])}",
    ],
)
def test_a_transformed_secret_in_inputs_is_an_error_at_its_position(expression: str) -> None:
    got = diagnostics(fetch(f'auth_token: "{expression}"'))
    column = 60 + expression.index("secrets")
    assert got == [f"7:{column} RB068"]


def test_a_secret_cannot_be_read_where_it_is_recorded() -> None:
    outputs = '    outputs: {t: "${secrets.K}"}\n    summary: "key ${secrets.K}"\n'
    got = diagnostics(fetch("auth_token: '${secrets.K}'", outputs))
    assert got == ["8:21 RB068", "9:21 RB068"]


def test_whole_secrets_in_inputs_and_any_use_in_conditions_are_fine() -> None:
    steps = fetch(
        'auth_token: "${secrets.K}", headers: {Authorization: "Bearer ${secrets.K}"}',
        '    when: "${len(secrets.K) > 3}"\n',
    )
    assumption = (
        "assumptions:\n  - id: token\n    description: set\n"
        '    check: "${len(strip(secrets.K)) > 0}"\n'
    )
    assert diagnostics(steps, assumption) == []


def test_the_whole_environment_and_rb_settings_are_not_readable() -> None:
    steps = (
        "steps:\n  - id: s\n    type: shell\n    inputs:\n      command: echo\n"
        '      args: ["${env}", "${env.RB_API_TOKEN}", "${RB_DATABASE_URL}", "${env.HOME}"]\n'
    )
    assert diagnostics(steps) == ["9:17 RB069", "9:27 RB069", "9:50 RB069"]


def test_encoded_forms_of_a_secret_are_masked() -> None:
    import base64
    from urllib.parse import quote, quote_plus

    mask = Masker({"K": SECRET})
    for form in (
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ):
        assert mask.text(f"url?key={form}&x=1") == "url?key=***&x=1", form


def test_a_secret_too_short_to_mask_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rb.yaml").write_text(
        HEAD + "steps:\n  - id: s\n    type: shell\n    inputs: {command: 'true'}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "rb", "run", "rb.yaml", "--db", f"sqlite:///{tmp_path}/rb.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "RB_SECRET_SHORT": "a", "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 2
    assert "secret SHORT is shorter than 4 characters" in done.stderr
    assert "'a'" not in done.stderr


def test_the_http_client_does_not_log_request_urls(caplog: pytest.LogCaptureFixture) -> None:
    import httpx

    from rb.world.base import HttpRequest
    from rb.world.live import LiveWorld

    world = LiveWorld(
        env=live_env(),
        secrets={"K": SECRET},
        http_transport=httpx.MockTransport(lambda request: httpx.Response(200, json={})),
    )
    caplog.set_level(logging.DEBUG)
    request = HttpRequest("GET", f"http://api.test/x?key={SECRET}")

    async def main() -> object:
        return await world.http(request, step_id="f")

    world.run(main)
    assert SECRET not in caplog.text


def test_a_shell_step_gets_neither_rb_settings_nor_the_environment() -> None:
    code = "import json, os; print(json.dumps(sorted(os.environ)))"
    text = (
        HEAD
        + "steps:\n  - id: sh\n    type: shell\n    inputs:\n      command: python3\n"
        + f"      args: ['-c', {json.dumps(code)}]\n"
        + "  - id: show\n    type: shell\n    depends_on: [sh]\n"
        + '    inputs: {command: echo, args: ["${env}"]}\n'
    )
    env = live_env(
        RB_API_TOKEN="server-token-123456",
        RB_DATABASE_URL="postgresql://u:pw@h/db",
        DATABASE_URL="postgresql://u:pw@h/db",
        SOME_TOOL_TOKEN="tool-token",
    )
    with pytest.raises(AssertionError, match="RB069"):
        run_live(text, env=env)  # refused before running
    result, events = run_live(text.rsplit("  - id: show", 1)[0], env=env)
    assert result.status == "success", result.error
    names = result.steps["sh"].result["json"]
    # (python3 may be a shim that adds its own variables, so no exact list)
    assert "PATH" in names
    assert not {"RB_API_TOKEN", "RB_DATABASE_URL", "DATABASE_URL", "SOME_TOOL_TOKEN"} & set(names)
    assert "server-token" not in repr(events.of(StepSucceeded))


def test_at_run_time_env_lists_nothing_and_rb_settings_are_not_set() -> None:
    scope = RunScope(
        params={},
        env={"HOME": "/home/x", "RB_API_TOKEN": "server-token-123456"},
        secrets={"K": SECRET},
        outcomes={},
        declared_outputs={},
        execution=dict,
    )
    resolve = scope.resolver()
    assert render_string("${env}", resolve) == {} or dict(render_string("${env}", resolve)) == {}
    assert render_string("${keys(secrets)}", resolve) == []
    assert render_string("${env.HOME}", resolve) == "/home/x"
    for text in ("${env.RB_API_TOKEN}", "${RB_API_TOKEN}"):
        with pytest.raises(ExpressionError, match="not set"):
            render_string(text, resolve)


SQL_STEP = """\
steps:
  - id: q
    type: sql_query
    inputs:
      database_url: "${secrets.DB_URL}"
      query: "SELECT * FROM ${params.table}"
"""


def test_an_expression_in_sql_text_is_an_error_unless_the_step_opts_out() -> None:
    params = "parameters:\n  table: {type: string, default: users}\n"
    assert diagnostics(SQL_STEP, params) == ["11:14 RB062"]
    report = validate_loaded(load_text(HEAD + params + SQL_STEP, "rb.yaml"), step_types())
    assert report.diagnostics[0].severity.value == "error"
    opted = SQL_STEP + "      allow_sql_interpolation: true\n"
    assert diagnostics(opted, params) == []


def secret_resolver() -> Any:
    """What a step's expressions see when the secret API_TOKEN is set."""
    scope = RunScope(
        params={},
        env={},
        secrets={"API_TOKEN": SECRET},
        outcomes={},
        declared_outputs={},
        execution=dict,
    )
    return scope.resolver()


def test_at_run_time_a_changed_secret_fails_even_through_a_bare_name() -> None:
    resolve = secret_resolver()
    for text in (
        "${lower(API_TOKEN)}",
        "${API_TOKEN[::-1]}",
        "x ${API_TOKEN[0:4]}",
        "${split(secrets.API_TOKEN, '-')}",
        "${secrets.API_TOKEN + '!'}",
    ):
        with pytest.raises(ExpressionError, match="a secret can only be used whole"):
            render_string(text, resolve)
    assert render_string("Bearer ${API_TOKEN}", resolve) == f"Bearer {SECRET}"
    assert render_string("${strip(secrets.API_TOKEN)}", resolve) == SECRET
    assert render_string("${len(strip(secrets.API_TOKEN)) > 0}", resolve) is True
    assert render_string("${lower(API_TOKEN) == 'x'}", resolve) is False


def test_at_run_time_a_secret_cannot_be_changed_through_a_list() -> None:
    resolve = secret_resolver()
    for text in (
        "${join([API_TOKEN])[::-1]}",
        "${json([[API_TOKEN]])[1:9]}",
        "${[lower(API_TOKEN)]}",
        "${{'k': API_TOKEN}['k'][2:]}",
        "${sorted([API_TOKEN, 'a'])}",
    ):
        with pytest.raises(ExpressionError, match="a secret can only be used whole"):
            render_string(text, resolve)
    assert render_string("${[API_TOKEN]}", resolve) == [SECRET]
