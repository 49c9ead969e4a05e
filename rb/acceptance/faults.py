"""The faults `rb acceptance generate` injects, per kind of dependency.

Each fault turns one golden answer into a faulty one, written in the fixture
format (docs/fixtures.md, "Answers and faults"): a timeout, a refused
connection, an error status, a database error, a failing exit code, a body
that is not JSON, or a JSON body whose shape drifted from the golden one (a
field the runbook reads removed, renamed, or of another type). `retryable`
says whether the engine retries the failure it causes, so a "fault once,
then recover" scenario only exists where a retry can recover.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rb.model import OutputKind, Step

Answer = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One way a dependency can misbehave."""

    name: str  # the slug in file and scenario names: timeout, status-500, drift-removed
    label: str  # how descriptions say it: "times out", "answers status 500"
    retryable: bool  # the engine retries the failure (a retry may recover)
    apply: Callable[[Answer, Step], dict[str, Any] | None]  # None: not applicable here


def _replace(**fields: Any) -> Callable[[Answer, Step], dict[str, Any]]:
    return lambda answer, step: {**fields}


def _status(code: int) -> Callable[[Answer, Step], dict[str, Any]]:
    # The golden body and headers, so only the status differs.
    def apply(answer: Answer, step: Step) -> dict[str, Any]:
        kept = {k: v for k, v in answer.items() if k in ("headers", "json", "body")}
        return {**kept, "status": code}

    return apply


def _malformed(answer: Answer, step: Step) -> dict[str, Any] | None:
    if not _json_paths(step):
        return None  # nothing reads the body: it cannot be malformed for this step
    return {
        "status": int(answer.get("status", 200)),
        "headers": {"content-type": "text/html"},
        "body": "<html><body>502 Bad Gateway</body></html>",
    }


def _exit_code(answer: Answer, step: Step) -> dict[str, Any]:
    expect = step.inputs.get("expect_exit", 0)
    accepted = expect if isinstance(expect, list) else [expect]
    code = next(c for c in range(1, 256) if c not in accepted)
    return {"exit_code": code, "stderr": "fault injected by rb acceptance generate\n"}


def _drift(how: str) -> Callable[[Answer, Step], dict[str, Any] | None]:
    def apply(answer: Answer, step: Step) -> dict[str, Any] | None:
        found = drift_field(answer, step)
        if found is None:
            return None
        keys, _ = found
        body = copy.deepcopy(dict(answer))
        parent = body["json"]
        for key in keys[:-1]:
            parent = parent[key]
        last = keys[-1]
        if how == "removed":
            del parent[last]
        elif how == "renamed":
            parent[f"{last}_v2"] = parent.pop(last)
        else:
            parent[last] = other_type(parent[last])
        return body

    return apply


HTTP_FAULTS = (
    FaultKind("timeout", "times out", True, _replace(fault="timeout")),
    FaultKind(
        "connection-refused", "refuses the connection", True, _replace(fault="connection_error")
    ),
    FaultKind("status-500", "answers status 500", True, _status(500)),
    FaultKind("status-401", "answers status 401", False, _status(401)),
    FaultKind("status-429", "answers status 429", True, _status(429)),
    FaultKind("malformed-body", "answers a body that is not JSON", False, _malformed),
    FaultKind("drift-removed", "drops a field the runbook reads", False, _drift("removed")),
    FaultKind("drift-renamed", "renames a field the runbook reads", False, _drift("renamed")),
    FaultKind("drift-type", "changes the type of a field the runbook reads", False, _drift("type")),
)
METRICS_FAULTS = HTTP_FAULTS[:3]
SQL_FAULTS = (
    FaultKind(
        "error",
        "reports an error",
        False,
        _replace(error="fault injected by rb acceptance generate"),
    ),
    FaultKind("timeout", "times out", True, _replace(fault="timeout")),
)
SHELL_FAULTS = (
    FaultKind("exit-nonzero", "exits with a code the step does not accept", True, _exit_code),
    FaultKind("timeout", "times out", True, _replace(fault="timeout")),
)
# By dependency kind (rb.acceptance.dependencies.KINDS). A page is served by
# the fixture's `pages:` or `screenshot:` entries, which cannot fault.
FAULTS: dict[str, tuple[FaultKind, ...]] = {
    "http": HTTP_FAULTS,
    "metrics": METRICS_FAULTS,
    "database": SQL_FAULTS,
    "command": SHELL_FAULTS,
    "page": (),
}

_SIMPLE_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_-]*)+$")


def _json_paths(step: Step) -> list[tuple[str, tuple[str, ...]]]:
    """(output name, keys) of the step's outputs read by a plain `$.a.b` JSONPath."""
    found = []
    for output in step.outputs:
        if output.kind is OutputKind.JSONPATH and _SIMPLE_PATH.match(str(output.value)):
            found.append((output.name, tuple(str(output.value)[2:].split("."))))
    return found


def drift_field(answer: Answer, step: Step) -> tuple[tuple[str, ...], str] | None:
    """The keys of the first output the golden JSON body holds, and the output's name."""
    body = answer.get("json")
    for name, keys in _json_paths(step):
        node: Any = body
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            return keys, name
    return None


def other_type(value: Any) -> Any:
    """A value of another JSON type carrying the same data, as a drifted API sends it."""
    if isinstance(value, list):
        return {"items": value}
    if isinstance(value, dict):
        return [value]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return {"value": value}
    return "null"
