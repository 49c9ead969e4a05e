"""wait: sleep, or poll a condition until it holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType, strings_object
from rb.wording import plural, seconds

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    world = ctx.world
    start = world.monotonic()
    if "seconds" in inputs:
        await world.sleep(float(inputs["seconds"]))
        return {"waited_seconds": world.monotonic() - start, "polls": 0, "result": None}
    # Only polling needs these (an import statement costs even when loaded).
    from rb.errors import StepError
    from rb.world.base import HttpRequest, WorldError

    interval = float(inputs.get("interval_seconds", 5))
    deadline = float(inputs.get("timeout_seconds", 300))
    poll = inputs.get("poll")
    polls, last = 0, None
    while True:
        if poll is not None:
            request = HttpRequest(
                method=str(poll.get("method", "GET")),
                url=str(poll["url"]),
                headers={str(k): str(v) for k, v in (poll.get("headers") or {}).items()},
            )
            try:
                last = (await world.http(request, step_id=ctx.step_id)).document()
            except WorldError as exc:
                if exc.kind == "unmatched":
                    raise
                # Down while failing over is expected: poll again.
                last = {"status": None, "headers": {}, "body": None, "error": exc.message}
        polls += 1
        if ctx.evaluate(str(inputs["until"]), {"result": last}):
            return {"waited_seconds": world.monotonic() - start, "polls": polls, "result": last}
        if world.monotonic() - start + interval > deadline:
            raise StepError(
                f"condition {inputs['until']} still false after {deadline:g}s "
                f"({plural(polls, 'poll')})",
                kind="timeout",
            )
        await world.sleep(interval)


def _summary(result: Any) -> str:
    if result["polls"]:
        return (
            f"condition true after {seconds(result['waited_seconds'])}, "
            f"{plural(result['polls'], 'poll')}"
        )
    return f"waited {seconds(result['waited_seconds'])}"


_EITHER = "give either `seconds`, or `until` (with interval_seconds and timeout_seconds)"

WAIT = StepType(
    name="wait",
    summary="Wait a number of seconds, or poll a condition until it is true.",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "seconds": {"type": "number", "minimum": 0, "maximum": 86400},
            "until": {
                "type": "string",
                "description": "A ${...} condition evaluated at every poll; "
                "with `poll`, `result` is the latest HTTP answer.",
            },
            "poll": {
                "type": "object",
                "additionalProperties": False,
                "required": ["url"],
                "properties": {
                    "url": {"type": "string"},
                    "method": {"enum": ["GET", "POST", "HEAD"]},
                    "headers": strings_object("Request headers."),
                },
                "description": "An HTTP request made before each evaluation of `until`.",
            },
            "interval_seconds": {"type": "number", "exclusiveMinimum": 0},
            "timeout_seconds": {"type": "number", "exclusiveMinimum": 0},
        },
        # Exactly one of `seconds` and `until`, said without `oneOf` or `not`
        # on the common path: the fast validator raises and catches an
        # exception for every failing branch of those (10 % of a no-op step).
        "anyOf": [{"required": ["seconds"]}, {"required": ["until"]}],
        "dependencies": {"until": {"properties": {"seconds": {"not": {}, "x-hint": _EITHER}}}},
        "x-hint": _EITHER,
    },
    result="`waited_seconds`, `polls` (number of evaluations) and `result` (last poll answer).",
    result_fields=("waited_seconds", "polls", "result"),
    lazy_inputs=frozenset({"until"}),
    duration_inputs=frozenset({"seconds", "timeout_seconds"}),
    clock_fields=frozenset({"waited_seconds"}),
    run=_run,
    summarize=_summary,
    example={
        "until": "${result.body.role == 'primary'}",
        "poll": {"url": "https://db-replica.internal/health"},
        "interval_seconds": 5,
        "timeout_seconds": 120,
    },
)
