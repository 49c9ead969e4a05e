"""Make docs/img/report.png: the top of an HTML report of the example runbook.

Runs `rb test rb-001-entity-enrichment --fixture fixtures/golden-scenarios.json
--report` in a copy of the project (so the project's store is left alone),
opens the report in the system Chromium and keeps the top of the page.
Run it from the project's folder after changing the report's look:

    .venv/bin/python scripts/report_picture.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PICTURE = ROOT / "docs" / "img" / "report.png"
COPIED = ("runbooks", "fixtures", "expected", "screenshots")


def main() -> int:
    from playwright.sync_api import sync_playwright

    from rb.browser import chromium_path

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for folder in COPIED:
            shutil.copytree(ROOT / folder, project / folder)
        subprocess.run(
            [sys.executable, "-m", "rb", "test", "rb-001-entity-enrichment",
             "--fixture", "fixtures/golden-scenarios.json", "--report", "report.html",
             "--actor", "alice"],
            cwd=project,
            env={**os.environ, "RB_DATABASE_URL": "", "CI": "", "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            check=True,
        )  # fmt: skip
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path())
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto((project / "report.html").as_uri())
            PICTURE.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(PICTURE), clip={"x": 0, "y": 0, "width": 1000, "height": 900})
            browser.close()
    print(f"wrote {PICTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
