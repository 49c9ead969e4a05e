"""Values interpolated into URLs are encoded for where they land; none can move the host."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..conftest import run_rb
from ..servers import TestServer

RUNBOOK = """\
id: url
name: Url
version: "1"
parameters:
  p: {{type: string, default: ""}}
steps:
  - id: get
    type: data_fetch
    inputs:
      source_url: "{url}"
{extra}"""


def rb_run(tmp_path: Path, url: str, p: str, extra: str = "") -> subprocess.CompletedProcess[str]:
    path = tmp_path / "url.yaml"
    path.write_text(RUNBOOK.format(url=url, extra=extra))
    db = f"sqlite:///{tmp_path / 'rb.db'}"
    return run_rb("run", str(path), "--db", db, "--param", f"p={p}", cwd=tmp_path)


def test_a_line_break_in_a_path_value_is_percent_encoded(
    tmp_path: Path, http_server: TestServer
) -> None:
    done = rb_run(tmp_path, http_server.url("/echo/${params.p}"), "a\r\nX-Injected: 1/../b")
    assert done.returncode == 0, done.stdout + done.stderr
    assert http_server.last("/echo/a%0D%0AX-Injected%3A%201%2F..%2Fb").method == "GET"


def test_a_query_value_stays_one_value(tmp_path: Path, http_server: TestServer) -> None:
    done = rb_run(tmp_path, http_server.url("/echo?q=${params.p}"), "a&admin=1#x")
    assert done.returncode == 0, done.stdout + done.stderr
    assert http_server.last("/echo").query == {"q": "a&admin=1#x"}


def test_a_value_cannot_change_the_host(tmp_path: Path, http_server: TestServer) -> None:
    done = rb_run(tmp_path, "http://api.invalid${params.p}/echo", f"@127.0.0.1:{http_server.port}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the value of ${params.p} lands in the URL's host and holds '@'" in done.stdout
    assert http_server.requests == []


def test_a_whole_url_with_a_line_break_fails_the_step_not_rb(
    tmp_path: Path, http_server: TestServer
) -> None:
    done = rb_run(tmp_path, "${params.p}", http_server.url("/echo\r\nX-Injected: 1"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "source_url is not a valid URL: it holds a line break" in done.stdout
    assert "FAILURE" in done.stdout
    assert http_server.requests == []


def test_a_base_url_and_a_path_from_values_still_join(
    tmp_path: Path, http_server: TestServer
) -> None:
    url = http_server.base_url + "${params.p}"
    done = rb_run(tmp_path, url, "/echo/x?y=1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert http_server.last("/echo/x").query == {"y": "1"}


def test_query_inputs_are_added_to_the_query_already_in_the_url(
    tmp_path: Path, http_server: TestServer
) -> None:
    extra = '      query: {b: "2", c: "${params.p}"}\n'
    done = rb_run(tmp_path, http_server.url("/echo?a=1"), "x y", extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert http_server.last("/echo").query == {"a": "1", "b": "2", "c": "x y"}
