"""`rb --help` and `rb validate` must not import heavy libraries (fast CI start)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import DATA

# pydantic: typer 0.29 and later coerce options through it (+100 ms a start).
# networkx is allowed in `rb validate` (its checks use the graph), not in --help.
HEAVY = ("httpx", "sqlalchemy", "playwright", "numpy", "rich", "jinja2", "pydantic")


def imported_modules(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rb", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert names, result.stderr
    return names


@pytest.mark.parametrize(
    "args", [("--help",), ("validate", str(DATA / "seed_example.yaml"))], ids=["help", "validate"]
)
def test_no_heavy_imports(args: tuple[str, ...]) -> None:
    modules = imported_modules(*args)
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_help_does_not_even_load_yaml_or_schemas() -> None:
    modules = imported_modules("--help")
    assert not {"yaml", "jsonschema", "fastjsonschema", "jsonpath_rfc9535"} & modules
    # networkx (about 120 ms here) is for the checks and the engine, not for help.
    assert not {m for m in modules if m.split(".")[0] == "networkx"}
