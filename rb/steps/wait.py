"""wait: sleep, or poll a condition until it holds."""

from __future__ import annotations

from rb.step_type import StepType, strings_object

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
        "oneOf": [
            {"required": ["seconds"], "not": {"required": ["until"]}},
            {"required": ["until"], "not": {"required": ["seconds"]}},
        ],
        "x-hint": "give either `seconds`, or `until` (with interval_seconds and timeout_seconds)",
    },
    result="`waited_seconds`, `polls` (number of evaluations) and `result` (last poll answer).",
    result_fields=("waited_seconds", "polls", "result"),
    lazy_inputs=frozenset({"until"}),
    example={
        "until": "${result.body.role == 'primary'}",
        "poll": {"url": "https://db-replica.internal/health"},
        "interval_seconds": 5,
        "timeout_seconds": 120,
    },
)
