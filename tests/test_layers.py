"""No package imports one above it: the import-linter contract in pyproject.toml.

The layer order is written in docs/architecture.md; these tests keep the
code, the contract and the page in step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """import-linter as CI runs it: the `lint-imports` beside this Python."""
    command = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(command), "--no-cache", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def contract_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return list(contract["layers"])


def test_no_package_imports_one_above_it() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_inside_a_function_breaks_the_contract(tmp_path: Path) -> None:
    # A package laid out like rb's, where the lower layer reaches up only
    # inside a function (as rb's lazy imports do): the linter must see it.
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "high.py").write_text("from pkg import low\n")
    (pkg / "low.py").write_text("def later():\n    from pkg import high\n\n    return high\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = pkg\n\n"
        "[importlinter:contract:layers]\nname = layers\ntype = layers\n"
        "layers =\n    pkg.high\n    pkg.low\n"
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pkg.low -> pkg.high" in result.stdout


def test_the_architecture_page_gives_the_contracts_order() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    # The page's layer table: one row per layer, top first, packages in backticks.
    rows = [line for line in page.splitlines() if re.match(r"\| \d+ \|", line)]
    documented = [" ".join(re.findall(r"`(rb\.[a-z_]+)`", row.split("|")[2])) for row in rows]
    expected = [" ".join(re.findall(r"rb\.[a-z_]+", layer)) for layer in contract_layers()]
    assert documented == expected


def test_every_package_of_rb_has_a_line_on_the_page() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(
        f"rb.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "rb").iterdir()
        if (p.suffix == ".py" and not p.name.startswith("_"))
        or (p.is_dir() and (p / "__init__.py").is_file())
    )
    missing = [p for p in packages if f"`{p}`" not in page]
    assert not missing, f"docs/architecture.md says nothing of {missing}"
