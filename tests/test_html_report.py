"""`rb report` and `--report FILE`: HTML reports opened in the real Chromium.

Each test makes a report from a real recorded run of the example runbook (in
a copy of the project, with its fixture, baselines and store), opens it in
headless Chromium through Playwright and checks what a person sees, and that
the page fetched nothing but itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import DATA, ROOT, run_rb

ENRICHMENT = "rb-001-entity-enrichment"
GOLDEN = "fixtures/golden-scenarios.json"
GRAPH_500 = "fixtures/failures/entity-enrichment--graph-api-500.yaml"
STEPS = ("ingest", "validate", "enrich", "report", "screenshot_ui")
PAGE_BASELINE = DATA / "html-report" / "report-top.png"

pytestmark = pytest.mark.usefixtures("chromium")


def rb(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """rb in the project copy, recording to its own store, as one person (not CI)."""
    return run_rb(*args, cwd=project, env={"RB_DATABASE_URL": "", "CI": "", "RB_ACTOR": "ci-bot"})


def golden_run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`rb test` of the example runbook against its golden fixture, which passes."""
    done = rb(project, "test", ENRICHMENT, "--fixture", GOLDEN, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's runbooks, fixtures, golden files and baselines."""
    for folder in ("runbooks", "fixtures", "expected", "screenshots", "acceptance"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


@dataclass
class Opened:
    """A report open in Chromium, and every URL the page asked for."""

    page: Any
    url: str
    requests: list[str]

    def text(self, selector: str) -> list[str]:
        return [t.strip() for t in self.page.locator(selector).all_inner_texts()]

    def fetched_only_itself(self) -> bool:
        return all(r == self.url or r.startswith("data:") for r in self.requests)


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    contexts = []

    def open_(path: Path) -> Opened:
        context = browser.new_context(viewport={"width": 1100, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        url = path.resolve().as_uri()
        page.goto(url)
        return Opened(page, url, requests)

    yield open_
    for c in contexts:
        c.close()


def test_a_test_run_report_shows_status_dag_timeline_kpis_and_screenshots(
    project: Path, open_report: Any
) -> None:
    done = golden_run(project, "--report", "report.html")
    assert "report written to report.html" in done.stdout
    opened = open_report(project / "report.html")
    page = opened.page
    assert opened.text(".run .status") == ["SUCCESS"]  # uppercased by CSS, as a person reads it
    labels = page.locator("svg.dag g.node text:not(.type)")  # SVG text has no innerText
    assert labels.all_text_contents() == list(STEPS)
    assert all(label.is_visible() for label in labels.all())
    states = page.locator("svg.dag g.node").evaluate_all("ns => ns.map(n => n.dataset.state)")
    assert states == ["succeeded"] * 5
    rows = opened.text(".timeline .row .name")
    assert rows == list(STEPS)
    assert "+0.35s, 1.20s" in opened.text(".timeline .row[data-step=enrich] .when")[0]
    kpi = page.locator("table.kpis tr.kpi", has_text="min_success_rate").inner_text()
    assert kpi.split("\t") == ["min_success_rate", "0.975", "≥ 0.95", "0.975 >= 0.95", "met"]
    assert "ci-bot (unverified)" in page.locator("dl.header").inner_text()
    # The screenshot step: baseline, actual and diff, each decoded by the browser.
    for kind in ("baseline", "actual", "diff"):
        image = page.locator(f".shots[data-step=screenshot_ui] img.{kind}")
        assert image.evaluate("i => i.complete && i.naturalWidth") == 770
    assert "(identical)" in page.locator("h3", has_text="screenshot_ui").inner_text()
    assert opened.fetched_only_itself(), opened.requests


def test_secrets_show_only_as_stars(project: Path, open_report: Any) -> None:
    golden_run(project, "--report", "r.html")
    html = (project / "r.html").read_text(encoding="utf-8")
    assert "fixture-api-token" not in html  # the fixture's API_TOKEN
    page = open_report(project / "r.html").page
    ingest = page.locator("details.output", has_text="ingest")
    ingest.locator("summary").click()
    assert '"auth_token": "***"' in ingest.inner_text()


def test_a_failed_run_shows_the_failed_step_its_retries_and_what_was_skipped(
    project: Path, open_report: Any
) -> None:
    done = rb(project, "test", ENRICHMENT, "--fixture", GRAPH_500)
    assert done.returncode != 0
    made = rb(project, "report", "last", "-o", "failed.html")
    assert made.returncode == 0, made.stdout + made.stderr
    opened = open_report(project / "failed.html")
    page = opened.page
    assert opened.text(".run .status") == ["FAILURE"]
    assert "500" in page.locator(".run > p.error").inner_text()
    node = page.locator("svg.dag g.node[data-step=enrich]")
    assert node.get_attribute("data-state") == "failed"
    assert page.locator("svg.dag g.node[data-step=report]").get_attribute("data-state") == "skipped"
    when = opened.text(".timeline .row[data-step=enrich] .when")[0]
    assert "4 attempts" in when
    assert opened.fetched_only_itself(), opened.requests


def test_a_replay_report_names_each_divergence_by_its_json_path(
    project: Path, open_report: Any
) -> None:
    golden_run(project)
    source = (project / "runbooks" / "entity-enrichment.yaml").read_text()
    changed = source.replace('error_count: "$.error_count"', 'error_count: "$.valid_count"')
    assert changed != source
    (project / "runbooks" / "changed.yaml").write_text(changed)
    done = rb(
        project, "replay", "last", "--definition", "runbooks/changed.yaml", "--report", "rp.html"
    )
    assert done.returncode == 1 and "REPLAY DIVERGED" in done.stdout
    opened = open_report(project / "rp.html")
    page = opened.page
    assert "REPLAY DIVERGED" in page.locator(".run").inner_text()
    paths = opened.text("tr.divergence td.path")
    assert "$.steps.validate.outputs.error_count" in paths
    row = page.locator("tr.divergence", has_text="$.steps.validate.outputs.error_count")
    assert "expected 5, got 195" in row.inner_text()
    assert "replay of" in page.locator("dl.header").inner_text()  # its World row
    assert opened.fetched_only_itself(), opened.requests


def test_a_verified_replay_says_so(project: Path, open_report: Any) -> None:
    golden_run(project)
    assert rb(project, "replay", "last", "--report", "ok.html").returncode == 0
    page = open_report(project / "ok.html").page
    assert "REPLAY VERIFIED" in page.locator(".run").inner_text()
    assert page.locator("tr.divergence").count() == 0


def test_an_acceptance_pack_report_has_a_section_per_scenario(
    project: Path, open_report: Any
) -> None:
    done = rb(project, "acceptance", ENRICHMENT, "--report", "pack.html")
    assert done.returncode == 0, done.stdout + done.stderr
    opened = open_report(project / "pack.html")
    headings = opened.text("section.run > h1")
    assert len(headings) == 5 and all(h.startswith(f"{ENRICHMENT}: ") for h in headings)
    assert f"{ENRICHMENT}: Graph API answers 500" in headings
    assert opened.text("section.run .status").count("FAILURE") >= 1
    assert opened.fetched_only_itself(), opened.requests


def test_report_needs_a_recording(project: Path) -> None:
    done = rb(project, "test", ENRICHMENT, "--fixture", GOLDEN, "--no-record", "--report", "x.html")
    assert done.returncode == 2
    assert "--report needs the run recorded" in done.stderr
    assert not (project / "x.html").exists()


def test_the_report_page_looks_as_its_baseline(project: Path, open_report: Any) -> None:
    """The top of a report (header, DAG, timeline, KPIs), ids and record times masked,
    compared with tests/data/html-report/report-top.png by rb's own pixelmatch."""
    from rb.snapshots import compare_png

    golden_run(project, "--report", "r.html")
    page = open_report(project / "r.html").page
    png = page.screenshot(
        clip={"x": 0, "y": 0, "width": 1100, "height": 1000},
        mask=[page.locator(".volatile")],
        animations="disabled",
    )
    if not PAGE_BASELINE.exists() or os.environ.get("RB_UPDATE_BASELINES") == "1":
        PAGE_BASELINE.parent.mkdir(parents=True, exist_ok=True)
        PAGE_BASELINE.write_bytes(png)
        pytest.fail(f"wrote {PAGE_BASELINE}: look at it, commit it and run again")
    found, diff = compare_png(PAGE_BASELINE.read_bytes(), png, str(PAGE_BASELINE))
    if found.mismatched:
        (project / "report-top.png").write_bytes(png)
        (project / "report-top.diff.png").write_bytes(diff)
    assert found.mismatched == 0, f"{found.mismatched} pixels differ; see {project}"


def test_a_changed_screenshot_shows_its_diff_beside_baseline_and_actual(
    project: Path, open_report: Any
) -> None:
    from rb.imagediff import decode_png, encode_png

    baseline = project / "screenshots" / ENRICHMENT / "screenshot_ui.png"
    pixels = decode_png(baseline.read_bytes()).copy()
    pixels[10:30, 10:60] = (0, 0, 255, 255)  # a blue block the page does not have
    baseline.write_bytes(encode_png(pixels))
    done = rb(project, "test", ENRICHMENT, "--fixture", GOLDEN, "--report", "diff.html")
    assert done.returncode == 1 and "Screenshot diff" in done.stdout
    opened = open_report(project / "diff.html")
    heading = opened.page.locator("h3", has_text="screenshot_ui").inner_text()
    assert re.search(r"\(\d+ pixels differ \(0\.\d\d%\)\)", heading), heading
    for kind in ("baseline", "actual", "diff"):
        image = opened.page.locator(f".shots[data-step=screenshot_ui] img.{kind}")
        assert image.evaluate("i => i.complete && i.naturalWidth") == 770
    assert opened.fetched_only_itself(), opened.requests
