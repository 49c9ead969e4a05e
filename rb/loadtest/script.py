"""What a k6 load test sends and how hard, and the script rendered from it.

A script posts one request, over and over, to `rb serve`'s
POST /api/runbooks/execute. The request comes from the runbook's acceptance
pack (acceptance/<runbook-id>/acceptance.yml): one scenario's fixture and the
inputs the run will use. The load is k6 stages (ramping virtual users) or a
constant number of users; the thresholds are k6 threshold expressions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rb.errors import UsageError
from rb.model import Runbook

if TYPE_CHECKING:
    from rb.acceptance.pack import Scenario

PACKS = Path("acceptance")
TEMPLATE = "k6.js.j2"

# A k6 duration: one or more number+unit parts, e.g. 30s, 1m30s, 1.5h, 500ms.
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h))+")


@dataclass(frozen=True)
class Stage:
    """Ramp linearly to `target` virtual users over `duration` (a k6 duration)."""

    duration: str
    target: int


# The seed's shape: ramp up, hold, ramp down (5 minutes in all).
DEFAULT_STAGES = (Stage("1m", 10), Stage("3m", 50), Stage("1m", 0))
DEFAULT_VUS = 10
DEFAULT_DURATION = "30s"


def parse_duration(text: str, option: str) -> str:
    """`text` if it is a k6 duration (30s, 1m30s, 500ms); else a UsageError naming `option`."""
    if not _DURATION.fullmatch(text):
        raise UsageError(f"{option}: {text!r} is not a duration like 30s, 1m or 1m30s")
    return text


def parse_stages(text: str) -> tuple[Stage, ...]:
    """`30s:10,1m:50,30s:0` -> three stages; anything else is a UsageError."""
    stages = []
    for part in text.split(","):
        duration, sep, target = part.strip().partition(":")
        if not sep or not target.strip().isdigit() or not _DURATION.fullmatch(duration.strip()):
            raise UsageError(
                f"--stages: {part.strip()!r} is not DURATION:TARGET "
                "(e.g. --stages 30s:10,1m:50,30s:0)"
            )
        stages.append(Stage(duration.strip(), int(target)))
    return tuple(stages)


@dataclass(frozen=True)
class Load:
    """How hard to push: stages (ramping users), or `vus` users for a duration or iterations.

    With no stages, `vus` users run for `duration`, or share `iterations`
    iterations (k6's shared-iterations executor), or both (iterations, cut
    off after `duration`).
    """

    stages: tuple[Stage, ...] = DEFAULT_STAGES
    vus: int | None = None
    duration: str | None = None
    iterations: int | None = None

    @classmethod
    def from_options(
        cls,
        *,
        stages: str | None = None,
        vus: int | None = None,
        duration: str | None = None,
        iterations: int | None = None,
    ) -> Load:
        """The load the command-line options ask for; conflicting options are a UsageError."""
        constant = vus is not None or duration is not None or iterations is not None
        if stages is not None and constant:
            raise UsageError(
                "--stages conflicts with --vus/--duration/--iterations: "
                "give stages for a ramp, or --vus with --duration or --iterations"
            )
        if stages is not None:
            return cls(stages=parse_stages(stages))
        if not constant:
            return cls()
        if duration is not None:
            parse_duration(duration, "--duration")
        elif iterations is None:
            duration = DEFAULT_DURATION
        return cls(stages=(), vus=vus or DEFAULT_VUS, duration=duration, iterations=iterations)

    def describe(self) -> str:
        """`1m→10, 3m→50, 1m→0` or `10 VUs for 30s`."""
        if self.stages:
            return ", ".join(f"{s.duration}→{s.target}" for s in self.stages)
        parts = [f"{self.vus} VUs"]
        if self.iterations is not None:
            parts.append(f"{self.iterations} iterations")
        if self.duration is not None:
            parts.append(
                f"for {self.duration}" if self.iterations is None else f"{self.duration} max"
            )
        return ", ".join(parts)


@dataclass(frozen=True)
class Thresholds:
    """Pass marks: latency percentiles in milliseconds, and the largest share of errors."""

    p95_ms: float = 2000.0
    p99_ms: float | None = None
    max_error_rate: float = 0.05

    def __post_init__(self) -> None:
        for name, value in (("--p95-ms", self.p95_ms), ("--p99-ms", self.p99_ms)):
            if value is not None and not value > 0:
                raise UsageError(f"{name} must be a number of milliseconds above 0, got {value}")
        if not 0 <= self.max_error_rate <= 1:
            raise UsageError(
                f"--max-error-rate is a share between 0 and 1 (0.05 is 5 %), "
                f"got {self.max_error_rate}"
            )

    def k6(self) -> dict[str, list[str]]:
        """k6's `thresholds` option: metric -> threshold expressions."""
        latency = [f"p(95)<{_number(self.p95_ms)}"]
        if self.p99_ms is not None:
            latency.append(f"p(99)<{_number(self.p99_ms)}")
        rate = f"rate<{_number(self.max_error_rate)}"
        return {
            "http_req_duration": latency,
            "http_req_failed": [rate],
            "rb_execution_failed": [rate],
        }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class ExecuteRequest:
    """The body the script posts, and where it came from."""

    runbook_id: str
    inputs: Mapping[str, Any]
    fixture: str | None = None  # a path under the project, as rb serve wants it
    expected_status: str = "success"
    scenario: str | None = None
    pack: str | None = None  # the acceptance.yml the scenario came from
    # Only queue the run ("wait": false): the answer is 202 with status queued.
    enqueue: bool = False

    def body(self) -> dict[str, Any]:
        """The JSON body of POST /api/runbooks/execute."""
        body: dict[str, Any] = {"runbook_id": self.runbook_id, "inputs": dict(self.inputs)}
        if self.fixture is not None:
            body["fixture"] = self.fixture
        if self.enqueue:
            body["wait"] = False
        return body

    @property
    def answer(self) -> tuple[int, str]:
        """The HTTP status and execution status a good answer has."""
        return (202, "queued") if self.enqueue else (200, self.expected_status)

    def source(self) -> str:
        """Where the inputs and fixture come from, in a few words."""
        if self.scenario is None:
            return "the runbook's parameter defaults, no fixture: rb serve runs it live (--live)"
        return f"scenario {self.scenario!r} of {self.pack}"


@dataclass(frozen=True)
class ScriptSpec:
    """Everything the template needs."""

    request: ExecuteRequest
    runbook_name: str
    load: Load = field(default_factory=Load)
    thresholds: Thresholds = field(default_factory=Thresholds)
    command: str = ""  # the rb command that regenerates the script
    script: str = ""  # where the script is written, for the run hint in its header


def request_for(
    runbook: Runbook, scenario: str | None = None, *, live: bool = False, packs: Path = PACKS
) -> tuple[ExecuteRequest, str | None]:
    """The request for `runbook` from its acceptance pack, and a note when it runs live.

    The scenario is `scenario` by name, else the first that expects success
    (the happy path), else the first. Inputs are what the run will use: the
    runbook's parameter defaults overlaid with the fixture's params. With
    `live` the inputs are the defaults and there is no fixture (rb serve then
    runs the runbook live, against the real services); the note says so.
    Without a pack that is the only request there is, so it takes `live`:
    a UsageError otherwise.
    """
    # Imported here: packs (and YAML) are needed only when a script is generated.
    from rb.acceptance.pack import find_pack, load_pack
    from rb.world.fixture_format import load_fixture

    defaults = {p.name: p.default for p in runbook.parameters if p.has_default}
    if live:
        if scenario is not None:
            raise UsageError(
                "--scenario conflicts with --live: a scenario sends its fixture, "
                "--live sends none (rb serve runs the runbook live)"
            )
        note = (
            f"--live: the script sends {runbook.id}'s parameter defaults and no fixture, "
            "so rb serve will run it live, against the real services"
        )
        return ExecuteRequest(runbook.id, defaults), note
    pack_path = find_pack(runbook.id, root=packs)
    if pack_path is None:
        looked = packs / runbook.id / "acceptance.yml"
        if scenario is not None:
            raise UsageError(
                f"--scenario {scenario!r}: runbook {runbook.id} has no acceptance pack "
                f"(looked for {looked})"
            )
        raise UsageError(
            f"runbook {runbook.id} has no acceptance pack (looked for {looked}): without "
            "one the script would make rb serve run it live, against the real services. "
            "Write a pack whose scenarios name fixtures (see `rb acceptance --help`), "
            "or pass --live to load the live services on purpose"
        )
    pack = load_pack(pack_path)
    chosen = _choose(pack.scenarios, scenario, pack_path)
    fixture_path = _project_path(chosen.fixture, pack_path)
    fixture = load_fixture(fixture_path)
    return (
        ExecuteRequest(
            runbook.id,
            {**defaults, **fixture.params},
            fixture=fixture_path.as_posix(),
            expected_status=chosen.expected.status,
            scenario=chosen.name,
            pack=pack_path.as_posix(),
        ),
        None,
    )


def _choose(scenarios: Sequence[Scenario], name: str | None, pack_path: Path) -> Scenario:
    if name is not None:
        for s in scenarios:
            if s.name == name:
                return s
        names = ", ".join(repr(s.name) for s in scenarios)
        raise UsageError(f"--scenario {name!r}: {pack_path} has no such scenario; it has {names}")
    happy = [s for s in scenarios if s.expected.status == "success"]
    if not (happy or scenarios):
        raise UsageError(f"{pack_path}: the acceptance pack has no scenarios")
    return (happy or list(scenarios))[0]


def _project_path(path: Path, pack_path: Path) -> Path:
    """The fixture's path relative to the project (the working directory), as rb serve wants it.

    Packs write fixture paths relative to the project root already; an
    absolute path is made relative, and one outside the project is refused.
    """
    if not path.is_file():
        raise UsageError(f"{pack_path}: fixture {path} does not exist")
    if not path.is_absolute():
        return path
    relative = Path(os.path.relpath(path.resolve(), Path.cwd().resolve()))
    if relative.parts and relative.parts[0] == "..":
        raise UsageError(
            f"{pack_path}: fixture {path} is outside the project ({Path.cwd()}); rb serve "
            "accepts only fixtures under the project: run rb from the project root"
        )
    return relative


def render(spec: ScriptSpec) -> str:
    """The k6 script for `spec`, from the package's template."""
    import jinja2

    text = resources.files("rb.loadtest").joinpath("templates", TEMPLATE).read_text("utf-8")
    env = jinja2.Environment(
        autoescape=False,  # JavaScript, not HTML: values go in through the js filter
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["js"] = _js
    env.filters["comment"] = _comment
    thresholds = spec.thresholds.k6()
    request = spec.request
    return env.from_string(text).render(
        runbook_id=request.runbook_id,
        runbook_name=spec.runbook_name,
        command=spec.command,
        source=request.source(),
        script=spec.script or f"{request.runbook_id}.js",
        stages=[
            {"duration": s.duration, "target": s.target, "label": label}
            for s, label in zip(spec.load.stages, _stage_labels(spec.load.stages), strict=True)
        ],
        vus=spec.load.vus,
        duration=spec.load.duration,
        iterations=spec.load.iterations,
        thresholds=list(thresholds.items()),
        threshold_notes=_threshold_notes(spec.thresholds),
        body=request.body(),
        http_status=request.answer[0],
        expected_status=request.answer[1],
        outcome_check=(
            "execution succeeded"
            if request.answer[1] == "success"
            else f"execution status is {request.answer[1]}"
        ),
    )


def _stage_labels(stages: tuple[Stage, ...]) -> list[str]:
    # The seed's words: ramp-up first, ramp-down to 0 last, sustained load between.
    labels, before = [], 0
    for i, stage in enumerate(stages):
        if i == 0 and stage.target > 0:
            labels.append("ramp-up")
        elif i == len(stages) - 1 and stage.target == 0:
            labels.append("ramp-down")
        elif stage.target < before:
            labels.append("easing off")
        else:
            labels.append("sustained load")
        before = stage.target
    return labels


def _threshold_notes(t: Thresholds) -> dict[str, str]:
    latency = f"95 % under {_ms(t.p95_ms)}"
    if t.p99_ms is not None:
        latency += f", 99 % under {_ms(t.p99_ms)}"
    share = f"{t.max_error_rate * 100:g} %"
    return {
        "http_req_duration": latency,
        "http_req_failed": f"under {share} HTTP errors",
        "rb_execution_failed": f"under {share} failed executions",
    }


def _ms(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def _js(value: Any, indent: int | None = None) -> str:
    # JSON is JavaScript; ensure_ascii keeps U+2028/9 and friends out of the source.
    return json.dumps(value, indent=indent, ensure_ascii=True)


def _comment(value: Any) -> str:
    # One line: a newline in a name must not end the // comment.
    return " ".join(str(value).split())
