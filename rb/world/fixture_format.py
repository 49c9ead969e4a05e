"""The fixture format: loading, checking and matching exchanges.

A fixture is YAML or JSON (see docs/fixtures.md and
rb/schemas/fixture.schema.json). A recorded execution exports to the same
format, so a recording is a fixture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rb import jsondiff, jsonschema_check, schemas, source
from rb.diagnostics import Diagnostic, make
from rb.errors import UsageError
from rb.limits import non_finite
from rb.world.inbox import FixtureApproval, InboxEvent

DEFAULT_CLOCK = datetime(2000, 1, 1, tzinfo=UTC)
KINDS = ("http", "sql", "shell", "screenshot")


@dataclass(frozen=True)
class Exchange:
    """One expected request and the answer(s) the fixture gives it."""

    kind: str  # http | sql | shell
    match: Mapping[str, Any]  # normalized request fields to match
    answers: tuple[Mapping[str, Any], ...]
    step: str | None = None
    where: str | None = None  # FILE:LINE of the entry, when the fixture was a file

    def matches(self, wanted: Mapping[str, Any]) -> bool:
        return all(wanted.get(k) == v for k, v in self.match.items())

    def similarity(self, wanted: Mapping[str, Any]) -> float:
        import difflib

        score = 0.0
        for k, v in self.match.items():
            a, b = _text(v), _text(wanted.get(k))
            score += 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()
        return score

    def differences(self, wanted: Mapping[str, Any]) -> str:
        """What differs from a request, by field and JSON path, with short values."""
        diffs = [
            _field_differences(k, v, wanted.get(k))
            for k, v in self.match.items()
            if wanted.get(k) != v
        ]
        return "; ".join(diffs) or "matches"

    def describe(self) -> str:
        if self.kind == "http":
            return f"{self.match['method']} {self.match['url']}"
        if self.kind == "sql":
            return f"SQL {self.match['query']!r}"
        if self.kind == "screenshot":
            return f"screenshot of {self.match['url']}"
        return f"command {self.match['command']!r}"


@dataclass(frozen=True)
class Fixture:
    path: str
    runbook: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)
    clock: datetime = DEFAULT_CLOCK
    seed: int = 0
    exchanges: tuple[Exchange, ...] = ()
    stubs: Mapping[str, Any] = field(default_factory=dict)
    observed: Mapping[str, list[Any]] = field(default_factory=dict)
    pages: Path | None = None  # folder of HTML and assets UI steps are served from
    approvals: Mapping[str, FixtureApproval] = field(default_factory=dict)  # approval answers
    events: tuple[InboxEvent, ...] = ()  # events wait_event steps take


def normalize_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """Scheme and host lower-cased, query parameters merged and sorted."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, str(v)) for k, v in (params or {}).items()]
    return urlunsplit(
        (
            parts.scheme.lower(),
            parts.netloc.lower(),
            parts.path or "/",
            urlencode(sorted(query)),
            "",
        )
    )


def normalize_sql(query: str) -> str:
    """Whitespace folded, so layout changes do not break matching."""
    return re.sub(r"\s+", " ", query).strip().rstrip(";")


def load_fixture(path: str | Path) -> Fixture:
    """Load and check a fixture file; problems are a UsageError with positions."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read fixture {name}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = source.undecodable_line(exc)
        raise UsageError(
            f"{name}:{line}: the fixture is not UTF-8 text; save it as UTF-8"
        ) from None
    doc, diagnostics = source.parse(text, name)
    if doc is not None and not isinstance(doc.data, dict):
        raise UsageError(f"{name}: a fixture is a mapping (see docs/fixtures.md)")
    if doc is not None:
        diagnostics += jsonschema_check.check(schemas.load("fixture"), doc.data, doc)
        diagnostics += _non_finite(doc)
    if doc is None or diagnostics:
        lines = "\n".join(d.text() for d in diagnostics)
        raise UsageError(f"fixture {name} is not valid:\n{lines}")
    return from_data(doc.data, name, doc=doc)


def _non_finite(doc: source.SourceDoc) -> list[Diagnostic]:
    """NaN and infinity (`.nan`, `.inf`) are refused: a latency of `.inf` would
    wait forever, and neither can be stored as JSON."""
    out = []
    for path, value in non_finite(doc.data):
        pos = doc.position(path)
        name = path[-1] if path else "the fixture"
        msg = f"{name} is {value}; only finite numbers are allowed in a fixture"
        out.append(make(doc.path, pos.line, pos.col, "RB013", msg))
    return out


def from_data(
    data: Mapping[str, Any], path: str = "<fixture>", *, doc: source.SourceDoc | None = None
) -> Fixture:
    """Build a Fixture from checked data (`doc` gives each exchange its line)."""
    exchanges = tuple(
        _exchange(kind, entry, f"{path}:{doc.position((kind, i)).line}" if doc else None)
        for kind in KINDS
        for i, entry in enumerate(data.get(kind) or ())
    )
    clock = DEFAULT_CLOCK
    if "clock" in data:
        try:
            clock = datetime.fromisoformat(str(data["clock"]).replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"{path}: clock must be an ISO 8601 time, got {data['clock']!r}"
            ) from None
        if clock.tzinfo is None:
            clock = clock.replace(tzinfo=UTC)
    return Fixture(
        path=path,
        runbook=data.get("runbook"),
        params=data.get("params") or {},
        env=data.get("env") or {},
        secrets=data.get("secrets") or {},
        facts=data.get("facts") or {},
        clock=clock,
        seed=int(data.get("seed", 0)),
        exchanges=exchanges,
        stubs={k: v["result"] for k, v in (data.get("stubs") or {}).items()},
        observed={k: list(v) for k, v in (data.get("observed") or {}).items()},
        pages=(Path(path).parent / data["pages"]).resolve() if data.get("pages") else None,
        approvals={
            str(step): FixtureApproval(
                str(a["decision"]), tuple(str(b) for b in a.get("by") or ()), a.get("comment")
            )
            for step, a in (data.get("approvals") or {}).items()
        },
        events=tuple(
            InboxEvent(str(e["name"]), str(e["key"]), e.get("payload"))
            for e in data.get("events") or ()
        ),
    )


def _exchange(kind: str, entry: Mapping[str, Any], where: str | None) -> Exchange:
    request = entry["request"]
    if kind == "http":
        match: dict[str, Any] = {
            "method": str(request.get("method", "GET")).upper(),
            "url": normalize_url(request["url"]),
        }
        if "json" in request:
            match["body"] = {"json": request["json"]}
        elif "body" in request:
            match["body"] = {"body": request["body"]}
    elif kind == "sql":
        match = {"query": normalize_sql(request["query"])}
        if "params" in request:
            match["params"] = dict(request["params"])
    elif kind == "screenshot":
        match = {"url": normalize_url(request["url"]), "selector": request.get("selector")}
    else:
        match = {"command": request["command"]}
        if "args" in request:
            match["args"] = [str(a) for a in request["args"]]
    answers = entry.get("responses") or [entry.get("response") or {}]
    return Exchange(kind, match, tuple(answers), entry.get("step"), where)


_SHOWN_PATHS = 3  # differing paths named per field; the rest are counted
_WHOLE = 160  # two values this short read better whole than as paths


def _field_differences(name: str, fixture: Any, request: Any) -> str:
    """`url differs (fixture A, request B)`, or the JSON paths where a body differs."""
    verb = "differ" if name.endswith("s") else "differs"  # params differ, url differs
    structured = isinstance(fixture, dict | list) and isinstance(request, dict | list)
    if not structured or len(_text(fixture)) + len(_text(request)) <= _WHOLE:
        return f"{name} {verb} (fixture {_short(fixture)}, request {_short(request)})"
    found = list(jsondiff.differences(fixture, request))
    shown = ", ".join(d.between("fixture", "request") for d in found[:_SHOWN_PATHS])
    more = len(found) - _SHOWN_PATHS
    return f"{name} {verb} at {shown}" + (f" and {more} more paths" if more > 0 else "")


def _short(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
