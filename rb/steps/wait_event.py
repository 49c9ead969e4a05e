"""wait_event: the run goes on when an event with the right name and key arrives.

An event is sent with `rb event send NAME --key K --data JSON` or
`POST /api/events`. One that arrives before the step waits is kept (24 hours
by default, `--keep`) and taken when the step starts; each event is consumed
by exactly one step. See docs/waiting.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType

if TYPE_CHECKING:
    from rb.engine.context import StepContext

DEFAULT_TIMEOUT = 86_400.0


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    from rb.engine.waiting import Park, WaitingFor
    from rb.errors import StepError
    from rb.steps.approval import wait_deadline

    world, step_id = ctx.world, ctx.step_id
    inbox = world.inbox
    if inbox is None:
        raise StepError(
            "a wait_event step needs a recorded run (rb run) or a fixture with an "
            "`events:` section (docs/fixtures.md)",
            retryable=False,
            kind="invalid_input",
        )
    name, key = str(inputs["event"]), str(inputs["key"])
    execution_id = str(ctx.evaluate("${execution.id}", {}))
    deadline = wait_deadline(
        ctx, execution_id, float(inputs.get("timeout_seconds", DEFAULT_TIMEOUT))
    )
    event = inbox.take_event(execution_id, step_id, name, key)
    taken = None if event is None else {"name": name, "key": key, "payload": event.payload}
    if taken is not None or not inbox.parks:
        # Kept in the recording once taken, so a replay gets the same payload.
        taken = world.observe(f"event.{step_id}", taken)
    if taken is not None:
        return dict(taken)
    if world.now() >= deadline:
        raise StepError(
            f"no event {name!r} with key {key!r} arrived in time", retryable=False, kind="timeout"
        )
    if not inbox.parks:
        raise StepError(
            f"the fixture has no event {name!r} with key {key!r} for step {step_id!r}: add "
            f"`events: [{{name: {name}, key: {key}, payload: ...}}]` (docs/fixtures.md)",
            retryable=False,
            kind="unmatched",
        )
    raise Park(
        WaitingFor("event", step_id, {"name": name, "key": key, "deadline": deadline.isoformat()})
    )


def _summary(result: Any) -> str:
    return f"event {result['name']} ({result['key']}) received"


WAIT_EVENT = StepType(
    name="wait_event",
    summary="Wait for an event with a name and correlation key; its payload is the result.",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["event", "key"],
        "properties": {
            "event": {"type": "string", "minLength": 1, "description": "The event's name."},
            "key": {
                "type": ["string", "number"],
                "description": "The correlation key, e.g. ${params.cluster}.",
            },
            "timeout_seconds": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "How long to wait from the first wait (default 86400).",
            },
        },
        "x-hint": "give `event` (a name) and `key` (a correlation key)",
    },
    result="`name`, `key` and `payload` (the event's data); outputs' JSONPath reads the payload.",
    result_fields=("name", "key", "payload"),
    query_field="payload",
    run=_run,
    summarize=_summary,
    example={"event": "replica-promoted", "key": "${params.cluster}", "timeout_seconds": 1800},
)
