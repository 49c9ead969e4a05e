"""The runbook model: typed, immutable, built once by the loader.

The policies a runbook and its steps carry (retry, concurrency, schedule,
notifications, access, environments) are values of `rb.policies`.

Everything after the loader works on these objects, never on raw YAML. Each
object keeps its index in the source so diagnostics can point back at it
(`Runbook.source.position(step.path + ("inputs",))`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rb.policies import (
    Access,
    Concurrency,
    Environment,
    Notify,
    Retry,
    Schedule,
    access_of,
    concurrency_of,
    environments_of,
    notify_of,
    retry_of,
    schedule_of,
)
from rb.source import DataPath, SourceDoc

if TYPE_CHECKING:
    import networkx as nx

ON_FAILURE = ("abort", "log_and_continue", "rollback")
KNOWN_KPIS = ("max_duration_seconds", "min_success_rate", "max_error_rate")
FOR_EACH_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str
    schema: Mapping[str, Any]  # the declaration as a JSON Schema (no default/description)
    default: Any = None
    has_default: bool = False
    description: str = ""


class OutputKind(StrEnum):
    JSONPATH = "jsonpath"
    EXPRESSION = "expression"
    LITERAL = "literal"


@dataclass(frozen=True, slots=True)
class Output:
    name: str
    kind: OutputKind
    value: Any

    @staticmethod
    def classify(value: Any) -> OutputKind:
        """`$...` is JSONPath, `${...}` an expression, anything else a literal.

        Text with a `${` inside is an expression too, so that the validator
        rejects it instead of it silently becoming a literal.
        """
        if isinstance(value, str):
            if "${" in value:
                return OutputKind.EXPRESSION
            if value.startswith("$"):
                return OutputKind.JSONPATH
        return OutputKind.LITERAL


@dataclass(frozen=True, slots=True)
class Rollback:
    type: str
    inputs: Mapping[str, Any]
    description: str = ""
    timeout_seconds: float | None = None
    retry: Retry = field(default_factory=Retry)


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    type: str
    index: int
    description: str = ""
    depends_on: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[Output, ...] = ()
    on_failure: str = "abort"
    retry: Retry = field(default_factory=Retry)
    timeout_seconds: float | None = None
    when: str | bool | None = None
    for_each: str | list[Any] | None = None
    rollback: Rollback | None = None
    summary: str | None = None  # a template for the step's one-line summary

    @property
    def path(self) -> DataPath:
        return ("steps", self.index)

    def output(self, name: str) -> Output | None:
        return next((o for o in self.outputs if o.name == name), None)


@dataclass(frozen=True, slots=True)
class Assumption:
    id: str
    index: int
    expected: Any = True  # a fact that must equal this value
    check: str | None = None  # or an expression that must be true
    description: str = ""


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    threshold: float | None = None  # for the known KPIs
    measure: str | None = None  # expression; None means the documented default
    minimum: float | None = None  # for custom KPIs
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Runbook:
    id: str
    name: str
    version: str
    steps: tuple[Step, ...]
    source: SourceDoc = field(repr=False, compare=False)
    owner: str = ""
    legal_basis: str = ""
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    assumptions: tuple[Assumption, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    default_timeout_seconds: float | None = None
    timeout_seconds: float | None = None  # bounds the whole run (docs/durability.md)
    on_cancel: str = "stop"  # stop | rollback: what a cancel does after stopping steps
    concurrency: Concurrency | None = None
    schedule: Schedule | None = None
    notify: tuple[Notify, ...] = ()
    access: Access | None = None
    environments: tuple[Environment, ...] = ()

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def environment(self, name: str) -> Environment | None:
        """The rules for environment `name`, if the runbook names it."""
        return next((e for e in self.environments if e.name == name), None)

    def access_in(self, environment: str | None) -> Access | None:
        """Who may act on this runbook in `environment` (its own access, else the runbook's)."""
        env = self.environment(environment) if environment else None
        if env is not None and env.access is not None:
            return env.access
        return self.access

    @property
    def definition_hash(self) -> str:
        """SHA-256 of the file's text: what a published definition and a record name it by."""
        import hashlib

        return hashlib.sha256(self.source.text.encode()).hexdigest()

    @cached_property
    def graph(self) -> nx.DiGraph[str]:
        """The step DAG (`rb.graph.build`): nodes carry the step, edges run dependency → dependent.

        Built once, on first use, and shared by the checks, the engine and
        `rb graph`; code that never asks for it never imports networkx.
        """
        from rb.graph import build

        return build(self.steps)


def from_raw(data: Mapping[str, Any], source: SourceDoc) -> Runbook:
    """Build the model from data that has passed the format schema."""
    defaults = data.get("defaults") or {}
    base_retry = retry_of(defaults.get("retry"), Retry())
    default_timeout = defaults.get("timeout_seconds")
    default_on_failure = defaults.get("on_failure", "abort")
    steps = tuple(
        _step(i, raw, base_retry, default_timeout, default_on_failure)
        for i, raw in enumerate(data["steps"])
    )
    return Runbook(
        id=data["id"],
        name=data["name"],
        version=data["version"],
        steps=steps,
        source=source,
        owner=data.get("owner", ""),
        legal_basis=data.get("legal_basis", ""),
        description=data.get("description", ""),
        parameters=tuple(_parameter(n, p) for n, p in (data.get("parameters") or {}).items()),
        assumptions=tuple(_assumption(i, a) for i, a in enumerate(data.get("assumptions") or [])),
        kpis=tuple(_kpi(n, k) for n, k in (data.get("kpis") or {}).items()),
        default_timeout_seconds=default_timeout,
        timeout_seconds=data.get("timeout_seconds"),
        on_cancel=data.get("on_cancel", "stop"),
        concurrency=concurrency_of(data.get("concurrency")),
        schedule=schedule_of(data.get("schedule")),
        notify=tuple(notify_of(i, n) for i, n in enumerate(data.get("notify") or [])),
        access=access_of(data.get("access")),
        environments=environments_of(data.get("environments")),
    )


def _step(
    index: int,
    raw: Mapping[str, Any],
    base_retry: Retry,
    default_timeout: float | None,
    default_on_failure: str,
) -> Step:
    rollback = raw.get("rollback")
    return Step(
        id=raw["id"],
        type=raw["type"],
        index=index,
        description=raw.get("description", ""),
        depends_on=tuple(raw.get("depends_on") or ()),
        inputs=raw.get("inputs") or {},
        outputs=tuple(
            Output(name, Output.classify(value), value)
            for name, value in (raw.get("outputs") or {}).items()
        ),
        on_failure=raw.get("on_failure", default_on_failure),
        retry=retry_of(raw.get("retry"), base_retry),
        timeout_seconds=raw.get("timeout_seconds", default_timeout),
        when=raw.get("when"),
        for_each=raw.get("for_each"),
        summary=raw.get("summary"),
        rollback=None
        if rollback is None
        else Rollback(
            type=rollback["type"],
            inputs=rollback.get("inputs") or {},
            description=rollback.get("description", ""),
            timeout_seconds=rollback.get("timeout_seconds", default_timeout),
            retry=retry_of(rollback.get("retry"), Retry()),
        ),
    )


def _parameter(name: str, raw: Mapping[str, Any]) -> Parameter:
    schema = {k: v for k, v in raw.items() if k not in ("default", "description")}
    return Parameter(
        name=name,
        type=raw["type"],
        schema=schema,
        default=raw.get("default"),
        has_default="default" in raw,
        description=raw.get("description", ""),
    )


def _assumption(index: int, raw: Mapping[str, Any]) -> Assumption:
    if "check" in raw:
        return Assumption(
            id=raw["id"], index=index, check=raw["check"], description=raw.get("description", "")
        )
    ((name, expected),) = raw.items()
    return Assumption(id=name, index=index, expected=expected)


def _kpi(name: str, raw: Any) -> Kpi:
    if name in KNOWN_KPIS:
        if isinstance(raw, int | float):
            return Kpi(name=name, threshold=float(raw))
        return Kpi(
            name=name,
            threshold=float(raw["threshold"]),
            measure=raw.get("measure"),
            description=raw.get("description", ""),
        )
    return Kpi(
        name=name,
        measure=raw["measure"],
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        description=raw.get("description", ""),
    )
