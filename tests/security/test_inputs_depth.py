"""Values nested thousands of levels deep (--param, API responses) are refused, not a crash."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..conftest import run_rb

RUNBOOK = """\
id: deep
name: Deep
version: "1"
parameters:
  items: {{type: array, default: []}}
steps:
  - id: get
    type: data_fetch
    inputs: {{source_url: "{url}", method: POST, json: "${{params.items}}"}}
    outputs: {{first: "$[0]"}}
"""


class _Deep(BaseHTTPRequestHandler):
    """Answers every POST with a JSON array nested 900 levels deep."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = ("[" * 900 + "1" + "]" * 900).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def deep_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Deep)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/deep"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _write(tmp_path: Path, url: str) -> tuple[Path, str]:
    path = tmp_path / "deep.yaml"
    path.write_text(RUNBOOK.format(url=url))
    return path, f"sqlite:///{tmp_path / 'rb.db'}"


def test_a_param_nested_60000_deep_is_a_usage_error(tmp_path: Path) -> None:
    path, db = _write(tmp_path, "http://127.0.0.1:9/never")
    value = "[" * 60_000 + "]" * 60_000
    done = run_rb("run", str(path), "--db", db, "--param", f"items={value}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-500:]
    assert "parameter 'items' must be array: the JSON nests more than 200 levels deep" in (
        done.stderr
    )


def test_a_response_nested_900_deep_fails_the_step_with_the_reason(tmp_path: Path) -> None:
    with deep_server() as url:
        path, db = _write(tmp_path, url)
        done = run_rb("run", str(path), "--db", db, cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-500:]
    assert f"step 'get' failed: POST {url}" in done.stdout + done.stderr
    assert "the JSON response nests more than 200 levels deep" in done.stdout + done.stderr
