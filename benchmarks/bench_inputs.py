"""Hostile input files, measured (never asserted): time and peak memory of
`rb validate` on the probe's payloads, and what the YAML limits cost a big
valid runbook.

- a billion-laughs runbook (9 levels of 9 aliases, under 1 KB): before the
  limit, memory grew about 170 MB/s until the process died;
- a recursive alias (`&r {self: *r}`) and 100,000 nested `[`;
- a parameter `pattern: "^(a+)+$"` checked against 64 a's and a b;
- parsing a 10,000-step chain (the limits are a counter and a depth).

Run: .venv/bin/python -m benchmarks.bench_inputs
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.gen_runbook import runbook_text
from rb import source

HEAD = (
    'id: probe\nname: Probe\nversion: "1"\nsteps:\n  - {id: a, type: wait, inputs: {seconds: 1}}\n'
)


def bomb(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


PAYLOADS = {
    "billion laughs (9 levels)": HEAD + bomb(),
    "recursive alias": HEAD + "x: &r {self: *r}\n",
    "100,000 nested [": HEAD + "x: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "pattern ^(a+)+$ vs 64 a's + b": HEAD.replace(
        "steps:",
        'parameters:\n  p: {type: string, pattern: "^(a+)+$", default: "'
        + "a" * 64
        + 'b"}\nsteps:',
    ),
}


# Runs `rb validate` and reports the child's own peak memory on stderr's last line.
_CHILD = (
    "import resource, runpy, sys\n"
    "try:\n"
    "    runpy.run_module('rb', run_name='__main__')\n"
    "finally:\n"
    "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def validate(text: str) -> tuple[float, float, int, str]:
    """Seconds, peak MB, exit code and the first error line of `rb validate`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.yaml"
        path.write_text(text)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        seconds = time.perf_counter() - start
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    lines = done.stdout.splitlines() or ["(no output)"]
    first = next((line for line in lines if " error " in line), lines[0])
    return seconds, peak_kb / 1024, done.returncode, first.replace(str(path), "probe.yaml")


def main() -> None:
    print(f"{'payload':32} {'bytes':>8} {'s':>6} {'peak MB':>8} exit")
    for name, text in PAYLOADS.items():
        seconds, peak, code, first = validate(text)
        print(f"{name:32} {len(text.encode()):>8} {seconds:>6.2f} {peak:>8.0f} {code}")
        print(f"    {first[:150]}")
    text = runbook_text(10_000, "chain")
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        source.parse(text, "chain.yaml")
        runs.append(time.perf_counter() - start)
    print(
        f"parse 10,000-step chain: min {min(runs) * 1000:.0f} ms, "
        f"median {statistics.median(runs) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
