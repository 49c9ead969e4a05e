"""False alarms of the screenshot check: an unchanged page rerun N times, counted.

Each rerun is a whole `rb test` process, as a user or CI runs it (a fresh
Chromium, the page served from the fixture, the shot compared with the
committed baseline at the default tolerance: any differing pixel fails). A
false alarm is a rerun whose "Screenshot diff" line is not a pass, or whose
exit code is not 0. Independently of rb's verdict, each shot is also compared
with the baseline here, with anti-aliasing counted too (pixelmatch include_aa),
and its bytes hashed, to show how stable the rendering itself is.

Run from the project root:
    .venv/bin/python -m benchmarks.bench_screenshot_reruns [--runs 100]
        [--runbook rb-001-entity-enrichment] [--fixture fixtures/golden-scenarios.json]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rb.imagediff import pixelmatch
from rb.png_io import decode_png


def rerun(runbook: str, fixture: str) -> tuple[int, str, float]:
    """One `rb test`: its exit code, its Screenshot diff line, its wall time."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rb", "test", runbook, "--fixture", fixture, "--no-record"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "CI": ""},
        check=False,
    )
    seconds = time.perf_counter() - start
    line = next((x for x in done.stdout.splitlines() if "Screenshot diff" in x), "(no line)")
    return done.returncode, line, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--runbook", default="rb-001-entity-enrichment")
    parser.add_argument("--fixture", default="fixtures/golden-scenarios.json")
    parser.add_argument("--step", default="screenshot_ui")
    args = parser.parse_args()

    baseline_path = Path("screenshots") / args.runbook / f"{args.step}.png"
    shot_path = Path(".rb") / "screenshots" / args.runbook / f"{args.step}.png"
    if not baseline_path.is_file():
        sys.exit(f"no baseline {baseline_path}: run from the project root")
    baseline = decode_png(baseline_path.read_bytes())

    alarms: list[str] = []
    hashes: set[str] = set()
    raw_diffs: list[int] = []
    times: list[float] = []
    for i in range(1, args.runs + 1):
        code, line, seconds = rerun(args.runbook, args.fixture)
        times.append(seconds)
        if code != 0 or not line.startswith("✓ Screenshot diff:"):
            alarms.append(f"rerun {i}: exit {code}: {line}")
        png = shot_path.read_bytes()
        hashes.add(hashlib.sha256(png).hexdigest())
        found = pixelmatch(baseline, decode_png(png), include_aa=True, output=False)
        raw_diffs.append(found.mismatched)
        if i % 10 == 0:
            print(f"  {i} reruns, {len(alarms)} false alarms so far", flush=True)

    print(f"runbook {args.runbook}, step {args.step}, baseline {baseline_path}")
    print(f"reruns: {args.runs}")
    print(f"false alarms: {len(alarms)}")
    for alarm in alarms[:10]:
        print(f"  {alarm}")
    print(f"distinct shots (by SHA-256): {len(hashes)}")
    print(f"pixels differing from the baseline, anti-aliasing counted too: max {max(raw_diffs)}")
    print(f"rb test wall time: median {statistics.median(times):.2f} s, max {max(times):.2f} s")


if __name__ == "__main__":
    main()
