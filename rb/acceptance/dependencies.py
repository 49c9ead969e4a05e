"""The dependency inventory of a runbook: everything outside it that it touches.

Each HTTP endpoint, database, command, page and Pushgateway a runbook's steps
(and their rollbacks) reach, as written in the runbook, with the steps that
use it and each step's failure policy. Given a fixture, each of its exchanges
is assigned to the dependency it serves, so an endpoint written as an
expression (`${params.api}/items`) is also known by the URLs it resolved to.

`rb acceptance coverage` reads which dependencies a pack's fixtures fault;
`rb acceptance generate` writes faults for each one. Everything here is
static: nothing runs, and the same runbook gives the same inventory, in the
same order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rb.model import Runbook, Step
from rb.world.fixture_format import Exchange, Fixture, normalize_sql

# Kinds of dependency, in the order an inventory lists them.
KINDS = ("http", "database", "command", "page", "metrics")
# The fixture exchange kind that serves each kind of dependency.
EXCHANGE_KIND = {
    "http": "http",
    "metrics": "http",
    "database": "sql",
    "command": "shell",
    "page": "screenshot",
}
_EXPRESSION = re.compile(r"\$\{.*?\}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Use:
    """One step (or a step's rollback) using a dependency, with its failure policy."""

    step: str
    type: str  # the step type (of the rollback, for a rollback)
    role: str  # "step", or "rollback" when the step's rollback uses it
    on_failure: str  # abort | log_and_continue | rollback (a rollback's is "abort")
    max_attempts: int
    timeout_seconds: float | None
    has_rollback: bool  # the step declares a `rollback:`
    detail: str = ""  # the SQL query, or the command's args, as written
    expect: Any = None  # accepted HTTP statuses or exit codes, as written (None: default)


@dataclass(frozen=True, slots=True)
class Dependency:
    """Something outside the runbook: an endpoint, a database, a command, a page, a gateway."""

    kind: str  # one of KINDS
    target: str  # URL template, database URL, command, page URL or gateway, as written
    method: str = ""  # HTTP method (http and metrics), as written
    uses: tuple[Use, ...] = ()
    resolved: tuple[str, ...] = ()  # the requests of the fixture that served it, sorted

    @property
    def key(self) -> str:
        """How reports name it: `GET ${params.api}/items`, `database ${secrets.DB}`."""
        if self.kind == "http":
            return f"{self.method} {self.target}"
        if self.kind == "metrics":
            return f"metrics {self.target}"
        return f"{self.kind} {self.target}"

    @property
    def steps(self) -> tuple[str, ...]:
        """The ids of the steps using it, each once, in runbook order."""
        return tuple(dict.fromkeys(u.step for u in self.uses))


@dataclass(frozen=True)
class Inventory:
    """A runbook's dependencies, ordered by kind then as first used in the runbook."""

    runbook: str
    dependencies: tuple[Dependency, ...]

    def of_step(self, step_id: str) -> tuple[Dependency, ...]:
        """The dependencies step `step_id` (or its rollback) uses."""
        return tuple(d for d in self.dependencies if step_id in d.steps)

    def to_json(self) -> dict[str, Any]:
        """The inventory as plain data (for `--format json`)."""
        return {
            "runbook": self.runbook,
            "dependencies": [
                {
                    "key": d.key,
                    "kind": d.kind,
                    "method": d.method or None,
                    "target": d.target,
                    "resolved": list(d.resolved),
                    "uses": [
                        {
                            "step": u.step,
                            "type": u.type,
                            "role": u.role,
                            "on_failure": u.on_failure,
                            "max_attempts": u.max_attempts,
                            "timeout_seconds": u.timeout_seconds,
                            "rollback": u.has_rollback,
                        }
                        for u in d.uses
                    ],
                }
                for d in self.dependencies
            ],
        }


def inventory(runbook: Runbook, fixture: Fixture | None = None) -> Inventory:
    """Every dependency `runbook` touches; with `fixture`, the requests each one served."""
    found: dict[tuple[str, str, str], list[Use]] = {}
    for step in runbook.steps:
        for kind, target, method, use in _touches(step):
            found.setdefault((kind, method, target), []).append(use)
    order = {kind: i for i, kind in enumerate(KINDS)}
    # Stable sort: by kind, then as first used in the runbook.
    keys = sorted(found, key=lambda k: order[k[0]])
    deps = tuple(Dependency(k, t, m, tuple(found[(k, m, t)])) for k, m, t in keys)
    bare = Inventory(runbook.id, deps)
    if fixture is None:
        return bare
    served: dict[int, set[str]] = {}
    for exchange in fixture.exchanges:
        index = assign(bare, exchange)
        if index is not None:
            served.setdefault(index, set()).add(exchange.describe())
    return Inventory(
        runbook.id,
        tuple(
            Dependency(d.kind, d.target, d.method, d.uses, tuple(sorted(served.get(i, ()))))
            for i, d in enumerate(deps)
        ),
    )


def _touches(step: Step) -> Iterator[tuple[str, str, str, Use]]:
    """(kind, target, method, use) for what `step` and its rollback reach."""
    for kind, target, method, detail, expect in _inputs_touch(step.type, step.inputs):
        use = Use(
            step.id,
            step.type,
            "step",
            on_failure=step.on_failure,
            max_attempts=step.retry.max_attempts,
            timeout_seconds=step.timeout_seconds,
            has_rollback=step.rollback is not None,
            detail=detail,
            expect=expect,
        )
        yield kind, target, method, use
    if step.rollback is not None:
        back = step.rollback
        for kind, target, method, detail, expect in _inputs_touch(back.type, back.inputs):
            use = Use(
                step.id,
                back.type,
                "rollback",
                on_failure="abort",
                max_attempts=back.retry.max_attempts,
                timeout_seconds=back.timeout_seconds,
                has_rollback=True,
                detail=detail,
                expect=expect,
            )
            yield kind, target, method, use


def _inputs_touch(
    step_type: str, inputs: Mapping[str, Any]
) -> Iterator[tuple[str, str, str, str, Any]]:
    """(kind, target, method, detail, expect) for one step type's inputs, as written."""
    if step_type == "data_fetch":
        method = str(inputs.get("method", "GET"))
        yield "http", str(inputs["source_url"]), method, "", inputs.get("expect_status")
    elif step_type == "api_call":
        method = str(inputs.get("method", "POST" if "query" in inputs else "GET"))
        yield "http", _api_url(inputs), method, "", inputs.get("expect_status")
    elif step_type == "wait" and isinstance(inputs.get("poll"), Mapping):
        poll = inputs["poll"]
        yield "http", str(poll["url"]), str(poll.get("method", "GET")), "", None
    elif step_type == "sql_query":
        yield "database", str(inputs["database_url"]), "", str(inputs["query"]), None
    elif step_type == "shell":
        args = " ".join(str(a) for a in inputs.get("args") or ())
        yield "command", str(inputs["command"]), "", args, inputs.get("expect_exit", 0)
    elif step_type == "ui_screenshot":
        yield "page", str(inputs["url"]), "", "", None
    elif step_type == "metrics_publish":
        gateway = str(inputs.get("gateway_url") or "${env.RB_PUSHGATEWAY_URL}")
        yield "metrics", gateway, "PUT", "", None


def _api_url(inputs: Mapping[str, Any]) -> str:
    if "url" in inputs:
        return str(inputs["url"])
    base = str(inputs.get("base_url") or "${env.API_BASE_URL}")
    return base.rstrip("/") + "/" + str(inputs["endpoint"]).lstrip("/")


# Assigning fixture exchanges ---------------------------------------------------


def assign(inv: Inventory, exchange: Exchange) -> int | None:
    """The index in `inv.dependencies` of the dependency `exchange` serves, if any.

    Among the dependencies whose template matches the request, those of the
    exchange's `step:` (when it names one) come first, then the template with
    the most literal text: `${base}/items/${id}` before `${base}${path}`.
    """
    best: tuple[int, int, int] | None = None
    for index, dep in enumerate(inv.dependencies):
        if EXCHANGE_KIND[dep.kind] != exchange.kind or not _serves(dep, exchange):
            continue
        named = 1 if exchange.step is not None and exchange.step in dep.steps else 0
        rank = (named, len(_EXPRESSION.sub("", _match_text(dep))), -index)
        if best is None or rank > best:
            best = rank
    return None if best is None else -best[2]


def _match_text(dep: Dependency) -> str:
    if dep.kind == "database":
        return " ".join(u.detail for u in dep.uses)
    return dep.target


def _serves(dep: Dependency, exchange: Exchange) -> bool:
    match = exchange.match
    if dep.kind == "database":
        query = str(match["query"])
        return any(_template(normalize_sql(u.detail)).fullmatch(query) for u in dep.uses)
    if dep.kind == "command":
        return bool(_template(dep.target).fullmatch(str(match["command"])))
    url = _without_query(str(match["url"]))
    if dep.kind in ("http", "metrics") and not _template(dep.method).fullmatch(
        str(match["method"])
    ):
        return False
    if dep.kind == "metrics":
        return bool(_template(dep.target.rstrip("/") + "/metrics/job/${job}").fullmatch(url))
    return bool(_template(_without_query(dep.target)).fullmatch(url))


def _without_query(url: str) -> str:
    """The URL before its query, a `?` inside `${...}` not counting; trailing `/` dropped."""
    literal = _EXPRESSION.sub(lambda m: "\0" * len(m.group()), url)
    cut = literal.find("?")
    return (url if cut < 0 else url[:cut]).rstrip("/")


def _template(text: str) -> re.Pattern[str]:
    """A pattern matching what `text` can become: each `${...}` stands for any text."""
    parts = _EXPRESSION.split(text)
    return re.compile(".*".join(re.escape(p) for p in parts), re.IGNORECASE | re.DOTALL)
