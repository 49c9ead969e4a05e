"""A recording, written as a fixture: one format, one code path.

Identical requests are grouped in order, so a request that failed and then
succeeded becomes `responses: [failure, success]` and replays the retry.
Recorded latencies become `latency_seconds`, so virtual time follows the
original run's timing; values the run could not repeat go under `observed`.
"""

from __future__ import annotations

import json
from typing import Any

from rb.store.records import Exchange, Execution
from rb.world.fixture_format import normalize_url

_FAULTS = {"timeout": "timeout", "connection": "connection_error"}


def fixture_from_run(run: Execution) -> dict[str, Any]:
    """The fixture data (see docs/fixtures.md) that replays `run` (read with its exchanges)."""
    meta = run.metadata
    clock = run.started_at.isoformat()
    data: dict[str, Any] = {
        "runbook": run.runbook_id,
        "description": f"recorded execution {run.id} ({run.status})",
        "params": meta.get("params", {}),
        "env": meta.get("env", {}),
        # Secrets were never stored: each stands for its own reference, which
        # is exactly what the recorded requests hold.
        "secrets": {name: f"${{secrets.{name}}}" for name in meta.get("secrets", [])},
        "facts": meta.get("facts", {}),
        "clock": clock.replace("+00:00", "Z"),
        "seed": 0,
    }
    entries: dict[str, list[dict[str, Any]]] = {
        "http": [],
        "sql": [],
        "shell": [],
        "screenshot": [],
    }
    index: dict[str, dict[str, Any]] = {}
    observed: dict[str, list[Any]] = {}
    stubs: dict[str, Any] = {}
    for ex in current_exchanges(run):
        if ex.kind == "observe":
            observed.setdefault(ex.request["name"], []).append(ex.response["value"])
            continue
        if ex.kind == "stub":
            stubs[ex.step_id] = {"result": ex.response["result"]}
            continue
        if ex.error and ex.error.get("kind") == "unmatched":
            continue  # nothing answered it when it was recorded
        request = _request(ex.kind, ex.request)
        key = ex.kind + json.dumps(request, sort_keys=True)
        entry = index.get(key)
        if entry is None:
            entry = index[key] = {"step": ex.step_id, "request": request, "responses": []}
            entries[ex.kind].append(entry)
        entry["responses"].append(_answer(ex))
    for kind, items in entries.items():
        for entry in items:
            if len(entry["responses"]) == 1:
                entry["response"] = entry.pop("responses")[0]
        if items:
            data[kind] = items
    if stubs:
        data["stubs"] = stubs
    if observed:
        data["observed"] = observed
    return data


def current_exchanges(run: Execution) -> list[Exchange]:
    """The exchanges that made the run as it stands: for each step, those of the
    start (run_attempt) that produced its latest log. A resumed execution keeps
    what an earlier start sent for a step that was run again, for the audit;
    a replay answers the step from its last start only. Run-level observations
    and steps without a log keep every start's exchanges."""
    attempt_of = {s.step_id: s.run_attempt for s in run.steps}
    return [
        ex
        for ex in run.exchanges or ()
        if attempt_of.get(ex.step_id, ex.run_attempt) == ex.run_attempt
    ]


def _request(kind: str, request: dict[str, Any]) -> dict[str, Any]:
    if kind == "http":
        out: dict[str, Any] = {
            "method": request["method"],
            "url": normalize_url(request["url"], request.get("params")),
        }
        if request.get("has_json"):
            out["json"] = request.get("json")
        elif request.get("body") is not None:
            out["body"] = request["body"]
        return out
    if kind == "sql":
        return {"query": request["query"], "params": request.get("params") or {}}
    if kind == "screenshot":
        return {"url": request["url"], "selector": request.get("selector")}
    return {"command": request["command"], "args": list(request.get("args") or [])}


def _answer(ex: Exchange) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    latency = round(float(ex.latency_seconds or 0), 6)
    if latency:
        answer["latency_seconds"] = latency
    error = ex.error
    if error:
        fault = _FAULTS.get(error.get("kind", ""))
        if fault:
            answer["fault"] = fault
            if fault == "timeout" and latency:
                answer["timeout_after_seconds"] = latency
                answer.pop("latency_seconds")
        else:
            answer["error"] = error["message"]
        return answer
    response = ex.response or {}
    if ex.kind == "screenshot":
        return dict(response)  # png_base64, width, height: no latency, no faults
    if ex.kind == "http":
        answer["status"] = response.get("status", 200)
        if response.get("headers"):
            answer["headers"] = response["headers"]
        body = response.get("body")
        answer["body" if isinstance(body, str) else "json"] = body
    elif ex.kind == "sql":
        answer.update(
            columns=response.get("columns", []),
            rows=response.get("rows", []),
            row_count=response.get("row_count", 0),
        )
    else:
        answer.update(
            exit_code=response.get("exit_code", 0),
            stdout=response.get("stdout", ""),
            stderr=response.get("stderr", ""),
        )
    return answer
