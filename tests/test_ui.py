"""UI screenshots with the real headless Chromium, baselines and diffs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import run_rb
from .servers import TestServer

PAGE = """<!doctype html><html><head><style>
body {{ margin: 0; font-family: "DejaVu Sans", sans-serif; background: #fff; }}
#panel {{ width: 760px; min-height: 560px; padding: 16px; border: 1px solid #ccc; }}
.note {{ height: 60px; overflow: hidden; }}
.spin {{ display: inline-block; width: 40px; height: 40px; background: #36c;
         animation: spin 1s linear infinite; }}
@keyframes spin {{ to {{ transform: rotate(360deg); }} }}
button {{ margin-left: {button_left}px; padding: 10px 24px; border: 0;
          background: {button_color}; color: #fff; font-size: 16px; }}
</style></head><body><div id="panel">
<h1>Deployments</h1><p class="note">{paragraph}</p>
<span class="clock">{clock}</span> <span class="spin"></span>
<button>Promote</button></div></body></html>
"""

RUNBOOK = """\
id: ui-check
name: UI check
version: "1"
steps:
  - id: panel
    type: ui_screenshot
    inputs:
      url: "http://dashboard.test/deployments/"
      selector: "#panel"
      viewport: {{width: 800, height: 600}}
      masks: {masks}{inputs}
    outputs: {{shot: "$.screenshot", share: "$.diff_share"}}
"""


pytestmark = pytest.mark.usefixtures("chromium")


def project(tmp_path: Path, inputs: str = "", masks: str = '[".clock"]', **page: str) -> Path:
    """A project whose runbook shoots #panel; `inputs` adds YAML lines to the step's inputs."""
    values = {
        "paragraph": "All services are healthy: error rates are below their objectives and "
        "release 2025.11.4 is serving ten per cent of the traffic without complaint.",
        "clock": "10:00:00",
        "button_left": "0",
        "button_color": "#2f7d32",
    }
    values.update(page)
    pages = tmp_path / "fixtures" / "pages" / "deployments"
    pages.mkdir(parents=True, exist_ok=True)
    (pages / "index.html").write_text(PAGE.format(**values))
    (tmp_path / "runbooks").mkdir(exist_ok=True)
    extra = "".join(f"\n      {line}" for line in inputs.splitlines())
    (tmp_path / "runbooks" / "ui.yaml").write_text(RUNBOOK.format(inputs=extra, masks=masks))
    (tmp_path / "fixtures" / "ui.yaml").write_text("pages: pages\n")
    return tmp_path


def rb_test(cwd: Path, *args: str, ci: bool = False) -> tuple[int, str]:
    env = {"CI": "true" if ci else ""}
    done = run_rb(
        "test", "ui-check", "--fixture", "fixtures/ui.yaml", "--no-record", *args, cwd=cwd, env=env
    )
    return done.returncode, done.stdout + done.stderr


def write_baseline_only(cwd: Path) -> None:
    """A first run for its baseline; the golden outputs it also wrote are removed,
    so the next run checks the screenshot alone (and writes them anew)."""
    rb_test(cwd)
    (cwd / "expected" / "ui.json").unlink()


def test_missing_baseline_is_written_locally_and_fails_in_ci(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    code, out = rb_test(cwd, ci=True)
    assert code == 1 and "no baseline screenshots/ui-check/panel.png" in out
    code, out = rb_test(cwd)
    assert "baseline written: screenshots/ui-check/panel.png" in out
    assert (cwd / "screenshots" / "ui-check" / "panel.png").exists()


def test_identical_page_passes_and_a_masked_clock_does_not_count(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    rb_test(cwd)  # writes the baseline
    project(tmp_path, clock="23:59:59")  # only the masked element changed
    code, out = rb_test(cwd, "--update")
    assert code == 0, out
    assert "✓ Step: panel (screenshot " in out
    assert "✓ Screenshot diff: 0.00% change (identical)\n" in out
    golden = json.loads((cwd / "expected" / "ui.json").read_text())
    assert golden["steps"]["panel"]["outputs"]["share"] == 0.0


REWORDED = (
    "Enrichment failed: 0 of 200 entities are healthy, error rates are below their objectives "
    "and release 2025.11.4 is serving ten per cent of the traffic without complaint."
)
REWRITTEN = (
    "Payments is DEGRADED: the error rate has been 7 % since 09:40 UTC, and the canary for "
    "release 2025.11.4 stays on hold until the on-call engineer has checked the dashboards."
)
CHANGES = {
    "reworded-paragraph": {"paragraph": REWORDED},
    "red-button": {"button_color": "#c62828"},
    "rewritten-paragraph": {"paragraph": REWRITTEN},
    "moved-button": {"button_left": "220"},
}


def changed_share(out: str) -> float:
    """The share the "Screenshot diff" line reports, in per cent."""
    line = next(x for x in out.splitlines() if "Screenshot diff:" in x)
    return float(line.split("Screenshot diff: ", 1)[1].split("%")[0])


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_any_visible_change_fails_by_default(tmp_path: Path, change: dict[str, str]) -> None:
    cwd = project(tmp_path)
    rb_test(cwd)
    project(tmp_path, **change)
    code, out = rb_test(cwd)
    assert code == 1, out
    diff = ".rb/screenshots/ui-check/panel.diff.png"
    line = next(x for x in out.splitlines() if "Screenshot diff:" in x)
    assert line.startswith("✗ Screenshot diff: ") and line.endswith(
        f", tolerance 0) — diff at {diff}"
    )
    assert "screenshot differs from screenshots/ui-check/panel.png: " in out
    assert (cwd / diff).exists()
    code, out = rb_test(cwd, "--update-snapshots")
    assert code == 0 and "baseline updated: screenshots/ui-check/panel.png" in out


@pytest.mark.parametrize("change", ["reworded-paragraph", "red-button"])
def test_changes_the_old_one_per_cent_default_let_through_are_small(
    tmp_path: Path, change: str
) -> None:
    # The cases: under 1 % of the shot, so only a zero default catches them.
    cwd = project(tmp_path)
    rb_test(cwd)
    project(tmp_path, **CHANGES[change])
    code, out = rb_test(cwd)
    assert code == 1 and 0 < changed_share(out) < 1.0, out


@pytest.mark.parametrize(
    ("change", "inputs", "passes"),
    [
        ("red-button", "max_diff_ratio: 0.02", True),
        ("reworded-paragraph", "max_diff_ratio: 0.02", True),
        ("red-button", "max_diff_pixels: 20000", True),
        ("red-button", "max_diff_pixels: 10", False),
        # both given: the stricter wins, as in Playwright
        ("red-button", "max_diff_pixels: 20000\nmax_diff_ratio: 0.0001", False),
    ],
)
def test_a_tolerance_lets_a_change_pass(
    tmp_path: Path, change: str, inputs: str, passes: bool
) -> None:
    cwd = project(tmp_path, inputs)
    write_baseline_only(cwd)
    project(tmp_path, inputs, **CHANGES[change])
    code, out = rb_test(cwd)
    if passes:
        assert code == 0, out
        assert "✓ Screenshot diff: " in out and "% change (within threshold)\n" in out
    else:
        assert code == 1, out
        assert "✗ Screenshot diff: " in out


def test_log_and_continue_does_not_turn_a_failed_screenshot_into_a_pass(tmp_path: Path) -> None:
    # The example runbook's screenshot step logs and continues: the run goes on,
    # but `rb test` must still fail, even with a golden file that recorded the failure.
    def with_policy(**page: str) -> None:
        project(tmp_path, **page)
        runbook = tmp_path / "runbooks" / "ui.yaml"
        runbook.write_text(runbook.read_text() + "    on_failure: log_and_continue\n")

    with_policy()
    rb_test(tmp_path)
    with_policy(**CHANGES["red-button"])
    code, out = rb_test(tmp_path, "--update")
    assert code == 1 and "✗ Screenshot diff: " in out, out
    code, out = rb_test(tmp_path)
    assert code == 1 and out.endswith("FAIL\n"), out


def test_a_masked_region_may_change(tmp_path: Path) -> None:
    cwd = project(tmp_path, masks='[".clock", "button"]')
    write_baseline_only(cwd)
    project(tmp_path, masks='[".clock", "button"]', **CHANGES["red-button"])
    code, out = rb_test(cwd)
    assert code == 0, out
    assert "✓ Screenshot diff: 0.00% change (identical)" in out


def test_the_step_result_carries_the_comparison(tmp_path: Path) -> None:
    inputs = "max_diff_pixels: 20000"
    cwd = project(tmp_path, inputs)
    rb_test(cwd)
    project(tmp_path, inputs, **CHANGES["red-button"])
    (cwd / "runbooks" / "ui.yaml").write_text(
        (cwd / "runbooks" / "ui.yaml")
        .read_text()
        .replace(
            'share: "$.diff_share"',
            'share: "$.diff_share", pixels: "$.mismatched_pixels", '
            'verdict: "$.verdict", tolerance: "$.tolerance", diff: "$.diff"',
        )
    )
    code, out = rb_test(cwd, "--update")
    assert code == 0, out
    outputs = json.loads((cwd / "expected" / "ui.json").read_text())["steps"]["panel"]["outputs"]
    assert outputs["verdict"] == "within_tolerance"
    assert 0 < outputs["pixels"] <= 20000 and 0 < outputs["share"] < 0.01
    assert outputs["tolerance"] == {
        "max_diff_pixels": 20000,
        "max_diff_ratio": None,
        "allowed_pixels": 20000,
        "color_threshold": 0.1,
    }
    assert outputs["diff"] == ".rb/screenshots/ui-check/panel.diff.png"


def test_threshold_as_a_share_is_stopped_at_validation(tmp_path: Path) -> None:
    cwd = project(tmp_path, "threshold: 0.01")
    done = run_rb("validate", "runbooks/ui.yaml", cwd=cwd)
    assert done.returncode == 1
    assert done.stdout.startswith(
        "runbooks/ui.yaml:12:18: error RB021 step 'panel' inputs.threshold the number 0.01 "
        "is not valid: `threshold` was the share of pixels allowed to differ and is no longer "
        "read: delete it"
    ), done.stdout
    assert "keep that tolerance as max_diff_ratio with the same value" in done.stdout
    code, out = rb_test(cwd)
    assert code == 2 and "threshold" in out


def test_a_missing_browser_is_a_clear_error(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    done = run_rb(
        "test",
        "ui-check",
        "--fixture",
        "fixtures/ui.yaml",
        "--no-record",
        cwd=cwd,
        env={"RB_CHROMIUM": str(tmp_path / "no-chromium"), "CI": ""},
    )
    assert done.returncode == 1
    assert f"RB_CHROMIUM={tmp_path / 'no-chromium'} is not an executable file" in done.stdout


def test_rb_diff_compares_two_screenshots(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    rb_test(cwd)
    baseline = cwd / "screenshots" / "ui-check" / "panel.png"
    shutil.copy(baseline, cwd / "copy.png")
    same = run_rb("diff", str(baseline), str(cwd / "copy.png"), "--format", "json", cwd=cwd)
    assert same.returncode == 0 and json.loads(same.stdout)["mismatched"] == 0


def test_live_mode_opens_the_real_url(tmp_path: Path, http_server: TestServer) -> None:
    (tmp_path / "live.yaml").write_text(
        RUNBOOK.format(inputs="", masks="[]")
        .replace("http://dashboard.test/deployments/", http_server.url("/plain"))
        .replace('selector: "#panel"', "full_page: true")
    )
    done = run_rb("run", "live.yaml", "--no-record", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ Step: panel (screenshot 800x600)" in done.stdout
    assert (tmp_path / ".rb" / "screenshots" / "ui-check" / "panel.png").exists()
    assert any(r.path == "/plain" for r in http_server.requests)  # the real server was asked
