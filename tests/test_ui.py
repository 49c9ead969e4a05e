"""UI screenshots with the real headless Chromium, baselines and diffs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rb.browser import chromium_path
from rb.world.base import WorldError

from .conftest import run_rb
from .servers import TestServer

PAGE = """<!doctype html><html><head><style>
body {{ margin: 0; font-family: "DejaVu Sans", sans-serif; background: #fff; }}
#panel {{ width: 480px; padding: 16px; border: 1px solid #ccc; }}
.note {{ height: 60px; overflow: hidden; }}
.spin {{ display: inline-block; width: 40px; height: 40px; background: #36c;
         animation: spin 1s linear infinite; }}
@keyframes spin {{ to {{ transform: rotate(360deg); }} }}
button {{ margin-left: {button_left}px; padding: 10px 24px; border: 0;
          background: #2f7d32; color: #fff; font-size: 16px; }}
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
      viewport: {width: 800, height: 600}
      masks: [".clock"]
    outputs: {shot: "$.screenshot", share: "$.diff_share"}
"""


@pytest.fixture(scope="module", autouse=True)
def _browser() -> None:
    try:
        chromium_path()
    except WorldError as exc:
        if os.environ.get("RB_REQUIRE_CHROMIUM") == "1":
            pytest.fail(str(exc))
        pytest.skip(f"{exc} (set RB_REQUIRE_CHROMIUM=1 to fail instead)")


def project(tmp_path: Path, **page: str) -> Path:
    values = {
        "paragraph": "All services are healthy: error rates are below their objectives and "
        "release 2025.11.4 is serving ten per cent of the traffic without complaint.",
        "clock": "10:00:00",
        "button_left": "0",
    }
    values.update(page)
    pages = tmp_path / "fixtures" / "pages" / "deployments"
    pages.mkdir(parents=True, exist_ok=True)
    (pages / "index.html").write_text(PAGE.format(**values))
    (tmp_path / "runbooks").mkdir(exist_ok=True)
    (tmp_path / "runbooks" / "ui.yaml").write_text(RUNBOOK)
    (tmp_path / "fixtures" / "ui.yaml").write_text("pages: pages\n")
    return tmp_path


def rb_test(cwd: Path, *args: str, ci: bool = False) -> tuple[int, str]:
    env = {"CI": "true" if ci else ""}
    done = run_rb(
        "test", "ui-check", "--fixture", "fixtures/ui.yaml", "--no-record", *args, cwd=cwd, env=env
    )
    return done.returncode, done.stdout + done.stderr


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
    assert "✓ Step: panel (screenshot" in out and ", 0.00% change, within threshold)" in out
    golden = json.loads((cwd / "expected" / "ui.json").read_text())
    assert golden["steps"]["panel"]["outputs"]["share"] == 0.0


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (
            {
                "paragraph": "Payments is DEGRADED: the error rate has been 7 % since 09:40 "
                "UTC, and the canary for release 2025.11.4 stays on hold until the on-call "
                "engineer has checked the dashboards."
            },
            "a changed paragraph",
        ),
        ({"button_left": "220"}, "a moved button"),
    ],
    ids=["paragraph", "button"],
)
def test_an_intentional_ui_change_is_flagged(
    tmp_path: Path, change: dict[str, str], what: str
) -> None:
    cwd = project(tmp_path)
    rb_test(cwd)
    project(tmp_path, **change)
    code, out = rb_test(cwd)
    assert code == 1, what
    assert "screenshot differs from screenshots/ui-check/panel.png in" in out
    share = float(out.split(" in ", 1)[1].split("%")[0])
    assert share > 1.0, (what, share)
    assert (cwd / ".rb" / "screenshots" / "ui-check" / "panel.diff.png").exists()
    code, out = rb_test(cwd, "--update-snapshots")
    assert code == 0 and "baseline updated" in out


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
        RUNBOOK.replace("http://dashboard.test/deployments/", http_server.url("/plain"))
        .replace('selector: "#panel"', "full_page: true")
        .replace('masks: [".clock"]', "masks: []")
    )
    done = run_rb("run", "live.yaml", "--no-record", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ Step: panel (screenshot 800x600)" in done.stdout
    assert (tmp_path / ".rb" / "screenshots" / "ui-check" / "panel.png").exists()
    assert any(r.path == "/plain" for r in http_server.requests)  # the real server was asked
