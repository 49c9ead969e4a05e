"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rb.diagnostics import Diagnostic
from rb.loader import load_text
from rb.plugins import step_types
from rb.validate import validate_loaded

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def diagnose(text: str, path: str = "test.yaml") -> list[Diagnostic]:
    """Every diagnostic rb validate reports for a runbook text."""
    return list(validate_loaded(load_text(text, path), step_types()).diagnostics)


def run_rb(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m rb ARGS` as a user runs it: a real process, no colour."""
    return subprocess.run(
        [sys.executable, "-m", "rb", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


@pytest.fixture(autouse=True)
def _no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


# Live-test services (tests/servers.py, tests/services.py) ---------------------
@pytest.fixture(scope="session")
def chromium() -> None:
    """The system Chromium; skips when missing unless RB_REQUIRE_CHROMIUM=1."""
    from rb.browser import chromium_path
    from rb.world.base import WorldError

    try:
        chromium_path()
    except WorldError as exc:
        if os.environ.get("RB_REQUIRE_CHROMIUM") == "1":
            pytest.fail(str(exc))
        pytest.skip(f"{exc} (set RB_REQUIRE_CHROMIUM=1 to fail instead)")


@pytest.fixture(scope="module")
def browser(chromium: None) -> Iterator[Any]:
    """A headless Chromium through Playwright, for tests that look at pages."""
    from playwright.sync_api import sync_playwright

    from rb.browser import chromium_path

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path())
        yield launched
        launched.close()


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 (routes in tests/servers.py), one per test."""
    from .servers import serve

    with serve() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL database; skips when down unless RB_REQUIRE_POSTGRES=1."""
    from .services import postgres_url

    return postgres_url()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """An empty store: a SQLite file, or a fresh schema in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    from .services import postgres_schema, postgres_url

    with postgres_schema(postgres_url()) as url:
        yield url


@pytest.fixture
def queue_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema with rb's tables and the queue's, as `rb db upgrade` makes."""
    from rb.service.runs import upgrade_store

    from .services import postgres_schema

    with postgres_schema(postgres_url, "rb_queue") as url:
        upgrade_store(db=url)
        yield url


@pytest.fixture
def pg_table(postgres_url: str):
    """A unique PostgreSQL table name, dropped after the test."""
    from .services import postgres_table

    with postgres_table(postgres_url) as name:
        yield name


@pytest.fixture(scope="session")
def pushgateway():
    """A real Pushgateway subprocess; skips when missing unless RB_REQUIRE_PUSHGATEWAY=1."""
    from .services import pushgateway

    with pushgateway() as gateway:
        yield gateway


# Server tests (tests/rb_server.py) ------------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder for `rb serve` (tests/rb_server.py: runbooks/, fixtures/)."""
    from .rb_server import make_project

    return make_project(tmp_path / "project")


@pytest.fixture
def api(project: Path):
    """`rb serve`'s app on `project` under a real uvicorn, and a client for it."""
    from .rb_server import API_TOKEN, BEARER, config_for, serving

    # With a token, as a server that runs live runbooks must be started.
    with serving(config_for(project, token=API_TOKEN), headers=BEARER) as served:
        yield served


def pytest_configure(config: pytest.Config) -> None:
    """Keep rb's on-disk cache out of the developer's home during tests."""
    import os
    import tempfile

    os.environ.setdefault("RB_CACHE_DIR", tempfile.mkdtemp(prefix="rb-test-cache-"))
    # Runs the tests record go to a scratch store, never the project's .rb/.
    scratch = tempfile.mkdtemp(prefix="rb-test-store-")
    os.environ.setdefault("RB_DATABASE_URL", f"sqlite:///{scratch}/rb.db")
