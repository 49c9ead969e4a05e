"""The runbook model: typed, immutable, built once by the loader.

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

from rb.source import DataPath, SourceDoc

if TYPE_CHECKING:
    import networkx as nx

ON_FAILURE = ("abort", "log_and_continue", "rollback")
KNOWN_KPIS = ("max_duration_seconds", "min_success_rate", "max_error_rate")
FOR_EACH_LIMIT = 1000
MISSED = ("skip", "latest", "all")  # what a schedule does about fires no worker deferred
NOTIFY_EVENTS = ("failure", "success", "approval_needed", "waiting_too_long")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Retry:
    """Retries with exponential backoff: delay = initial * multiplier**n, capped."""

    max_attempts: int = 1
    initial_delay_seconds: float = 1.0
    multiplier: float = 2.0
    max_delay_seconds: float = 60.0
    jitter: bool = True

    def delay(self, failed_attempts: int) -> float:
        """Delay before the next attempt after `failed_attempts` failures (no jitter)."""
        raw = self.initial_delay_seconds * self.multiplier ** max(failed_attempts - 1, 0)
        return float(min(raw, self.max_delay_seconds))


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
class Concurrency:
    """`concurrency:`: at most `limit` runs at once per value of `key` (docs/triggers.md)."""

    key: str  # an expression over params only, e.g. "${params.cluster}"
    limit: int = 1
    when_busy: str = "queue"  # queue | reject


@dataclass(frozen=True)
class Schedule:
    """`schedule:`: run the runbook at the fire times of a cron expression (docs/scheduling.md)."""

    cron: str  # five fields, croniter syntax, read in `timezone`
    timezone: str = "UTC"  # an IANA name
    params: Mapping[str, Any] = field(default_factory=dict)
    missed: str = "skip"  # skip | latest | all
    catch_up: str = "1h"  # how far back latest/all look: 90s, 30m, 24h, 7d

    @property
    def catch_up_seconds(self) -> int | None:
        """`catch_up` in seconds (None when it is not a duration; rb validate reports it)."""
        return duration_seconds(self.catch_up)


# A notification is tried three times, 0.5 s then 1 s apart (docs/notifications.md).
NOTIFY_RETRY = Retry(max_attempts=3, initial_delay_seconds=0.5, multiplier=2.0, jitter=False)


@dataclass(frozen=True)
class Notify:
    """One `notify:` entry: on these events, send to these targets (docs/notifications.md)."""

    # of NOTIFY_EVENTS (the key is `events:`: YAML 1.1 reads a bare `on:` as true)
    events: tuple[str, ...]
    to: tuple[str, ...]  # apprise URLs as written; `${secrets.NAME}` resolved only when sent
    index: int
    waiting_too_long_seconds: float | None = None
    title: str | None = None  # instead of rb's own title
    retry: Retry = NOTIFY_RETRY

    @property
    def path(self) -> DataPath:
        return ("notify", self.index)


def duration_seconds(text: str) -> int | None:
    """`90s`, `30m`, `24h`, `7d` in seconds; None for anything else (and for zero)."""
    text = text.strip()
    unit = _DURATION_UNITS.get(text[-1:])
    number = text[:-1]
    if unit is None or not number.isascii() or not number.isdigit() or int(number) == 0:
        return None
    return int(number) * unit


@dataclass(frozen=True)
class Access:
    """`access:`: who may run and approve; None leaves an action to the roles alone."""

    run: tuple[str, ...] | None = None  # token names or groups
    approve: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Environment:
    """`environments.<name>`: what a live run with `--env <name>` must satisfy."""

    name: str
    require: str = "any"  # approved | any
    access: Access | None = None  # replaces the runbook's own access here


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


def _retry(raw: Mapping[str, Any] | None, base: Retry) -> Retry:
    if not raw:
        return base
    return Retry(
        max_attempts=int(raw.get("max_attempts", base.max_attempts)),
        initial_delay_seconds=float(raw.get("initial_delay_seconds", base.initial_delay_seconds)),
        multiplier=float(raw.get("multiplier", base.multiplier)),
        max_delay_seconds=float(raw.get("max_delay_seconds", base.max_delay_seconds)),
        jitter=bool(raw.get("jitter", base.jitter)),
    )


def from_raw(data: Mapping[str, Any], source: SourceDoc) -> Runbook:
    """Build the model from data that has passed the format schema."""
    defaults = data.get("defaults") or {}
    base_retry = _retry(defaults.get("retry"), Retry())
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
        concurrency=_concurrency(data.get("concurrency")),
        schedule=_schedule(data.get("schedule")),
        notify=tuple(_notify(i, n) for i, n in enumerate(data.get("notify") or [])),
        access=_access(data.get("access")),
        environments=tuple(
            Environment(name, str(e.get("require", "any")), _access(e.get("access")))
            for name, e in (data.get("environments") or {}).items()
        ),
    )


def _notify(index: int, raw: Mapping[str, Any]) -> Notify:
    seconds = raw.get("waiting_too_long_seconds")
    return Notify(
        events=tuple(raw["events"]),
        to=tuple(raw["to"]),
        index=index,
        waiting_too_long_seconds=None if seconds is None else float(seconds),
        title=raw.get("title"),
        retry=_retry(raw.get("retry"), NOTIFY_RETRY),
    )


def _access(raw: Mapping[str, Any] | None) -> Access | None:
    if raw is None:
        return None

    def names(key: str) -> tuple[str, ...] | None:
        value = raw.get(key)
        return None if value is None else tuple(str(v) for v in value)

    return Access(run=names("run"), approve=names("approve"))


def _schedule(raw: Mapping[str, Any] | None) -> Schedule | None:
    if not raw:
        return None
    return Schedule(
        cron=str(raw["cron"]),
        timezone=str(raw.get("timezone", "UTC")),
        params=raw.get("params") or {},
        missed=str(raw.get("missed", "skip")),
        catch_up=str(raw.get("catch_up", "1h")),
    )


def _concurrency(raw: Mapping[str, Any] | None) -> Concurrency | None:
    if not raw:
        return None
    return Concurrency(
        key=str(raw["key"]),
        limit=int(raw.get("limit", 1)),
        when_busy=str(raw.get("when_busy", "queue")),
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
        retry=_retry(raw.get("retry"), base_retry),
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
            retry=_retry(rollback.get("retry"), Retry()),
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
