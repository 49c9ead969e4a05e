"""Acceptance packs: acceptance/<runbook-id>/acceptance.yml, loaded and checked.

A pack lists scenarios; each runs the runbook against a fixture and states
what must come out (docs/acceptance.md). Loading checks the file's shape
against rb/schemas/acceptance.schema.json and reads every expected value,
so a mistake is reported at its file:line:col before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from rb import jsonschema_check, schemas, source
from rb.acceptance.comparison import Comparison, ComparisonError, is_number, parse_comparison
from rb.diagnostics import Diagnostic, make
from rb.errors import ERROR_KINDS, UsageError
from rb.source import DataPath, Position, SourceDoc

PACK_ROOT = Path("acceptance")
PACK_NAMES = ("acceptance.yml", "acceptance.yaml")


class Kind(StrEnum):
    """What an expectation is about; each kind is checked its own way."""

    STATUS = "status"
    KPI = "kpi"
    ERROR_COUNT = "error_count"
    ERROR_TYPES = "error_types"
    OUTPUT = "output"
    STEP = "step"
    SCREENSHOT = "screenshot"
    GOLDEN = "golden"
    KPIS_BREACHED = "kpis_breached"
    NOTIFICATIONS = "notifications"


# The subject of a `status: success` check in a scenario that does not state
# `kpis_breached`: success then also means that every KPI was met.
ALL_KPIS_MET = ("all_kpis_met",)
# `kpis_breached: "*"`: any KPI may be breached, none is judged (generated
# failure scenarios state the failure policy, not the KPIs).
ANY_KPIS_BREACHED = "*"


@dataclass(frozen=True)
class Expectation:
    """One expected fact about a run, and where the pack states it."""

    kind: Kind
    subject: tuple[str, ...]  # (kpi,), (step,), (step, output), or () for the whole run
    want: Comparison
    path: DataPath  # in the pack file, e.g. ("scenarios", 0, "expected", "kpis", "x")

    @property
    def key(self) -> str:
        """How the pack names it: `status`, `kpis.duration_seconds`, `outputs.validate.total`."""
        return ".".join(str(p) for p in self.path[3:])


@dataclass(frozen=True)
class Expected:
    """A scenario's expected outcome: the run's status, then every check in file order."""

    status: str
    checks: tuple[Expectation, ...]


@dataclass(frozen=True)
class Scenario:
    """A named run of the runbook against one fixture, with what must come out."""

    name: str
    fixture: Path  # relative to the project root, as written
    expected: Expected
    description: str = ""
    index: int = 0  # position in the pack's `scenarios:` list

    @property
    def path(self) -> DataPath:
        return ("scenarios", self.index)


@dataclass(frozen=True)
class Pack:
    """The acceptance pack of one runbook."""

    runbook_id: str  # the name of the folder holding acceptance.yml
    path: Path
    scenarios: tuple[Scenario, ...]
    description: str = ""
    source: SourceDoc | None = field(default=None, repr=False, compare=False)

    def position(self, path: DataPath, *, key: bool = True) -> Position:
        """Where `path` is written in the pack (its key, by default)."""
        return self.source.position(path, key=key) if self.source else Position(1, 1)

    def where(self, path: DataPath, *, key: bool = True) -> str:
        """`file:line:col` of a place in the pack."""
        pos = self.position(path, key=key)
        return f"{self.path}:{pos.line}:{pos.col}"

    def diagnostic(self, path: DataPath, message: str, *, key: bool = True) -> Diagnostic:
        """A problem at `path` in the pack, as rb reports problems in files."""
        pos = self.position(path, key=key)
        return make(str(self.path), pos.line, pos.col, "RB013", message)


def notification_text(event: str, to: str | None) -> str:
    """`failure to json://...` (or `failure` for any target), as reports show it."""
    return f"{event} to {to}" if to else event


def outside_project(raw: str) -> bool:
    """Does the path `raw` (relative to the project folder, the working directory)
    lead out of it? Absolute paths, `..` and symbolic links out all count."""
    project = Path.cwd().resolve()
    target = (project / raw).resolve()
    return Path(raw).is_absolute() or not target.is_relative_to(project)


class PackError(UsageError):
    """Acceptance packs with problems; `diagnostics` says where (exit 2)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        files = sorted({d.file for d in diagnostics})
        lines = "\n".join(d.text() for d in sorted(diagnostics, key=Diagnostic.sort_key))
        super().__init__(f"acceptance pack {', '.join(files)} is not valid:\n{lines}")
        self.diagnostics = tuple(diagnostics)


def find_pack(runbook_id: str, root: Path = PACK_ROOT) -> Path | None:
    """The pack file of `runbook_id` under `root` (acceptance/<id>/acceptance.yml), if any."""
    for name in PACK_NAMES:
        candidate = root / runbook_id / name
        if candidate.is_file():
            return candidate
    return None


def find_packs(root: Path = PACK_ROOT) -> list[Path]:
    """Every pack file one folder below `root`, sorted by runbook id."""
    if not root.is_dir():
        return []
    found = (find_pack(folder.name, root) for folder in sorted(root.iterdir()))
    return [path for path in found if path is not None]


def pack_paths(targets: Sequence[str], root: Path = PACK_ROOT) -> list[Path]:
    """The pack files `rb acceptance TARGET...` means, in order, each once.

    No target: every pack under `root`. A target is a pack file, a folder
    holding one (or packs one level down), a runbook file, or a runbook id.
    """
    if not targets:
        found = find_packs(root)
        if not found:
            raise UsageError(f"no acceptance packs: expected {root}/<runbook-id>/acceptance.yml")
        return found
    paths: list[Path] = []
    for target in targets:
        for path in _resolve(target, root):
            if path not in paths:
                paths.append(path)
    return paths


def _resolve(target: str, root: Path) -> list[Path]:
    from rb.service.runbooks import runbook_id_of

    path = Path(target)
    if path.is_file() and path.name in PACK_NAMES:
        return [path]
    if path.is_dir():
        found = find_pack(path.name, path.parent)
        inside = [found] if found else find_packs(path)
        if not inside:
            raise UsageError(f"no acceptance pack in {path}: expected {path}/acceptance.yml")
        return inside
    runbook_id = runbook_id_of(path) if path.is_file() else target
    found = find_pack(runbook_id, root) if runbook_id else None
    if found is None:
        raise UsageError(
            f"no acceptance pack for {target!r}: expected "
            f"{root / (runbook_id or '<runbook-id>') / PACK_NAMES[0]}"
        )
    return [found]


def load_pack(path: Path) -> Pack:
    """Read and check a pack file; PackError lists every problem at file:line:col."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read acceptance pack {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = source.undecodable_line(exc)
        raise UsageError(f"{path}:{line}: the acceptance pack is not UTF-8 text") from None
    doc, problems = source.parse(text, str(path))
    if doc is not None and not isinstance(doc.data, dict):
        problems.append(
            make(str(path), 1, 1, "RB012", "an acceptance pack is a mapping with `scenarios:`")
        )
    if doc is None or problems:
        raise PackError(problems)
    problems += jsonschema_check.check(schemas.load("acceptance"), doc.data, doc)
    if problems:
        raise PackError(problems)
    builder = _Builder(Pack(path.parent.name, path, (), source=doc))
    pack = builder.build(doc.data)
    if builder.problems:
        raise PackError(builder.problems)
    return pack


class _Builder:
    """Turns checked pack data into a Pack, collecting problems with positions."""

    def __init__(self, empty: Pack) -> None:
        self.pack = empty
        self.problems: list[Diagnostic] = []

    def build(self, data: dict[str, Any]) -> Pack:
        scenarios = tuple(self._scenario(i, raw) for i, raw in enumerate(data["scenarios"]))
        self._unique_names(scenarios)
        return Pack(
            self.pack.runbook_id,
            self.pack.path,
            scenarios,
            data.get("description", ""),
            self.pack.source,
        )

    def _problem(self, path: DataPath, message: str, *, key: bool = False) -> None:
        self.problems.append(self.pack.diagnostic(path, message, key=key))

    def _scenario(self, index: int, raw: dict[str, Any]) -> Scenario:
        at: DataPath = ("scenarios", index)
        fixture = Path(raw["fixture"])
        if not fixture.is_file():
            self._problem((*at, "fixture"), f"fixture {fixture} does not exist")
        expected = raw["expected"]
        checks = list(self._checks((*at, "expected"), expected))
        return Scenario(
            raw["name"],
            fixture,
            Expected(expected["status"], tuple(checks)),
            raw.get("description", ""),
            index,
        )

    def _checks(self, at: DataPath, expected: dict[str, Any]) -> Iterator[Expectation]:
        # File order, so reports list checks as the author wrote them.
        for key, value in expected.items():
            here = (*at, key)
            if key == "status":
                strict = value == "success" and "kpis_breached" not in expected
                subject = ALL_KPIS_MET if strict else ()
                text = f"{value} (every KPI met)" if strict else value
                if expected.get("kpis_breached") == ANY_KPIS_BREACHED:
                    text = f"{value} (KPIs not judged)"  # the report says what was not checked
                yield Expectation(Kind.STATUS, subject, Comparison("==", value, text), here)
            elif key == "kpis_breached":
                if value == ANY_KPIS_BREACHED:
                    continue  # KPIs not judged: `status` alone is checked
                names = sorted({value} if isinstance(value, str) else set(value))
                text = ", ".join(names) or "none"
                yield Expectation(Kind.KPIS_BREACHED, (), Comparison("==", names, text), here)
            elif key == "kpis":
                for name, want in value.items():
                    yield from self._expect(Kind.KPI, (name,), want, (*here, name))
            elif key == "errors":
                yield from self._errors(here, value)
            elif key == "outputs":
                for step, outputs in value.items():
                    for name, want in outputs.items():
                        yield from self._expect(
                            Kind.OUTPUT, (step, name), want, (*here, step, name)
                        )
            elif key == "steps":
                for step, state in value.items():
                    yield Expectation(
                        Kind.STEP, (step,), Comparison("==", state, state), (*here, step)
                    )
            elif key == "screenshots":
                for step, baseline in value.items():
                    yield from self._file(
                        Kind.SCREENSHOT, (step,), baseline, (*here, step), "baseline"
                    )
            elif key == "golden":
                yield from self._file(Kind.GOLDEN, (), value, here, "golden file")
            elif key == "notifications":
                # (event, target or None for any of the event's targets), in file order
                wanted = [(n["event"], n.get("to")) for n in value]
                text = ", ".join(notification_text(e, to) for e, to in wanted) or "none"
                yield Expectation(Kind.NOTIFICATIONS, (), Comparison("==", wanted, text), here)

    def _expect(
        self, kind: Kind, subject: tuple[str, ...], raw: Any, path: DataPath
    ) -> Iterator[Expectation]:
        try:
            yield Expectation(kind, subject, parse_comparison(raw), path)
        except ComparisonError as exc:
            self._problem(path, str(exc))

    def _errors(self, at: DataPath, errors: dict[str, Any]) -> Iterator[Expectation]:
        if "count" in errors:
            for found in self._expect(Kind.ERROR_COUNT, (), errors["count"], (*at, "count")):
                if is_number(found.want.value):
                    yield found
                else:
                    self._problem(
                        found.path,
                        f"count {str(found.want)!r} is not a number or a comparison like '> 0'",
                    )
        if "type" in errors:
            raw = errors["type"]
            types = [raw] if isinstance(raw, str) else list(raw)
            for i, name in enumerate(types):
                if name not in ERROR_KINDS:
                    where = (*at, "type") if isinstance(raw, str) else (*at, "type", i)
                    hint = jsonschema_check.suggest(name, list(ERROR_KINDS))
                    self._problem(where, f"unknown error type {name!r}{hint}")
            wanted = sorted(set(types))
            yield Expectation(
                Kind.ERROR_TYPES, (), Comparison("==", wanted, ", ".join(wanted)), (*at, "type")
            )

    def _file(
        self, kind: Kind, subject: tuple[str, ...], raw: str, path: DataPath, what: str
    ) -> Iterator[Expectation]:
        if outside_project(raw):
            self._problem(
                path,
                f"{what} {raw} is outside the project folder; give a path inside it "
                "(relative, as in expected/<runbook>.json)",
            )
        elif not Path(raw).is_file():
            self._problem(path, f"{what} {raw} does not exist")
        yield Expectation(kind, subject, Comparison("==", raw, raw), path)

    def _unique_names(self, scenarios: tuple[Scenario, ...]) -> None:
        seen: dict[str, Scenario] = {}
        for s in scenarios:
            first = seen.setdefault(s.name, s)
            if first is not s:
                self._problem(
                    (*s.path, "name"),
                    f"scenario name {s.name!r} is already used on line "
                    f"{self.pack.position((*first.path, 'name')).line}; names must be unique "
                    "(they name the test cases in reports)",
                )
