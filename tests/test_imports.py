"""`rb --help` and `rb validate` must not import heavy libraries (fast CI start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_a_recorded_rb_test_does_not_load_sqlalchemy(tmp_path: Path) -> None:
    """Recording goes through the driver; SQLAlchemy (about 250 ms) only migrates and reads."""
    book = tmp_path / "chain.yaml"
    book.write_text(
        'id: chain\nname: chain\nversion: "1"\nsteps:\n'
        "  - {id: a, type: wait, inputs: {seconds: 0}}\n"
        "  - {id: b, type: wait, inputs: {seconds: 1}, depends_on: [a]}\n"
    )
    fixture = tmp_path / "chain.fixture.yaml"
    fixture.write_text("runbook: chain.yaml\n")
    db = f"sqlite:///{tmp_path}/rb.db"
    golden = str(tmp_path / "golden.json")
    command = [
        "test",
        str(book),
        "--fixture",
        str(fixture),
        "--db",
        db,
        "--expect",
        golden,
        "--update",
    ]
    imported_modules(*command)  # creates the store (a migration does load it) and the cache
    modules = imported_modules(*command)
    assert not {m for m in modules if m.split(".")[0] in ("sqlalchemy", "alembic")}
    runs = subprocess.run(
        [sys.executable, "-m", "rb", "runs", "list", "--db", db],
        capture_output=True,
        text=True,
        check=True,
    )
    assert runs.stdout.count("chain") == 2  # and both runs were recorded
