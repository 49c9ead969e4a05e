"""The project's files the server serves: runbooks by id, fixtures by path.

Each file is parsed (and a runbook validated) once per version of it: the
cache key is its modification time, size and inode, so an edited runbook is
picked up by the next request and an unchanged one costs a `stat`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rb.errors import UsageError
from rb.server.errors import ApiError

if TYPE_CHECKING:
    from rb.model import Runbook
    from rb.world.fixture_format import Fixture

Stamp = tuple[int, int, int]  # st_mtime_ns, st_size, st_ino


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class Entry:
    """One runbook file: the runbook if it is valid, else its errors."""

    path: Path
    id: str
    runbook: Runbook | None
    errors: tuple[str, ...] = ()


class Catalog:
    """The runbooks in a folder (searched recursively), by id.

    Two files with one id: the first by path wins, as in `rb run ID`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[Stamp, Entry]] = {}

    def entries(self) -> list[Entry]:
        """Every runbook file, sorted by path; changed files are loaded again."""
        paths = sorted(self.folder.rglob("*.y*ml")) if self.folder.is_dir() else []
        found = []
        with self._lock:
            for path in paths:
                stamp = _stamp(path)
                if stamp is None:
                    continue  # deleted while we looked
                cached = self._cache.get(path)
                if cached is None or cached[0] != stamp:
                    cached = self._cache[path] = (stamp, _load(path))
                found.append(cached[1])
            for gone in self._cache.keys() - set(paths):
                del self._cache[gone]
        return found

    def get(self, runbook_id: str) -> Entry | None:
        """The runbook with this id, or None.

        A runbook already loaded costs one `stat` while its file is unchanged;
        otherwise the folder is searched again.
        """
        with self._lock:
            known = [(path, hit) for path, hit in self._cache.items() if hit[1].id == runbook_id]
        if len(known) == 1 and _stamp(known[0][0]) == known[0][1][0]:
            return known[0][1][1]
        return next((e for e in self.entries() if e.id == runbook_id), None)

    def runbook(self, runbook_id: str) -> Runbook:
        """The valid runbook with this id; else an ApiError (404, or 422 with its errors)."""
        entry = self.get(runbook_id)
        if entry is None:
            raise ApiError(404, f"no runbook {runbook_id!r} (GET /api/runbooks lists them)")
        if entry.runbook is None:
            raise ApiError(
                422, f"runbook {runbook_id!r} has errors; fix them first", diagnostics=entry.errors
            )
        return entry.runbook


def _load(path: Path) -> Entry:
    from rb.diagnostics import Severity
    from rb.loader import load_file
    from rb.plugins import step_types
    from rb.service.runbooks import runbook_id_of
    from rb.validate import validate_loaded

    loaded = load_file(path)
    report = validate_loaded(loaded, step_types())
    errors = tuple(d.text() for d in report.diagnostics if d.severity is Severity.ERROR)
    if loaded.runbook is not None and not errors:
        return Entry(path, loaded.runbook.id, loaded.runbook)
    return Entry(path, runbook_id_of(path) or path.stem, None, errors or ("cannot be loaded",))


class Fixtures:
    """Fixture files under the project, by the path a request gives."""

    def __init__(self, project: Path) -> None:
        self.project = project.resolve()
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[Stamp, Fixture]] = {}

    def load(self, ref: str) -> Fixture:
        """The fixture at `ref` (relative to the project); ApiError 400 when it
        lies outside the project (after following links), is missing or invalid."""
        from rb.world.fixture_format import load_fixture

        path = self.resolve(ref)
        stamp = _stamp(path)
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            fixture = load_fixture(path)
        except UsageError as exc:
            # Name the file as the client did, not by the server's own path.
            raise ApiError(400, str(exc).replace(str(path), ref)) from None
        if stamp is not None:
            with self._lock:
                self._cache[path] = (stamp, fixture)
        return fixture

    def resolve(self, ref: str) -> Path:
        """The real path of fixture `ref`, refusing anything outside the project."""
        if not ref or "\0" in ref:
            raise ApiError(400, "fixture must be a path to a fixture file in the project")
        path = Path(os.path.realpath(self.project / ref))
        if not path.is_relative_to(self.project):
            raise ApiError(400, f"fixture {ref!r} is outside the project; give a path inside it")
        if not path.is_file():
            raise ApiError(400, f"no fixture file {ref!r} in the project")
        return path
