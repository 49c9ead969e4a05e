"""schema_check: validate a list of items against a JSON Schema."""

from __future__ import annotations

from rb.step_type import StepType

SCHEMA_CHECK = StepType(
    name="schema_check",
    summary="Validate items against a JSON Schema; valid items and errors are both kept.",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["entities", "schema"],
        "properties": {
            "entities": {
                "type": "array",
                "description": "The items to check (one value is checked as a list of one).",
            },
            "schema": {
                "type": ["string", "object"],
                "description": "A JSON Schema, inline or as a .json file beside the runbook.",
            },
            "max_error_rate": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Fail the step when more than this share of items is invalid.",
            },
        },
    },
    result=(
        "`valid` (the valid items), `errors` (one per problem: `index`, `path`, `message`), "
        "`valid_count`, `error_count` and `total`."
    ),
    result_fields=("valid", "errors", "valid_count", "error_count", "total"),
    example={"entities": "${steps.fetch.outputs.items}", "schema": "entity-v2.json"},
)
