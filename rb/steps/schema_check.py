"""schema_check: validate a list of items against a JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType
from rb.wording import plural

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    import json

    import jsonschema

    from rb.errors import StepError

    schema = inputs["schema"]
    if isinstance(schema, str):
        path = ctx.base_dir / schema
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise StepError(f"cannot read schema {path}: {exc.strerror}", retryable=False) from None
        except ValueError as exc:
            raise StepError(f"schema {path} is not JSON: {exc}", retryable=False) from None
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise StepError(
            f"the schema is not a valid JSON Schema: {exc.message}",
            retryable=False,
            kind="invalid_input",
        ) from None
    validator = validator_class(schema)
    items = inputs["entities"]
    valid, errors = [], []
    for index, item in enumerate(items):
        problems = sorted(validator.iter_errors(item), key=lambda e: list(e.absolute_path))
        if not problems:
            valid.append(item)
        for e in problems:
            where = "$" + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path
            )
            errors.append({"index": index, "path": where, "message": e.message})
    invalid = len(items) - len(valid)
    limit = inputs.get("max_error_rate")
    if limit is not None and items and invalid / len(items) > limit:
        raise StepError(
            f"{invalid} of {len(items)} items are invalid, over max_error_rate {limit:g}",
            retryable=False,
            kind="schema_validation",
        )
    return {
        "valid": valid,
        "errors": errors,
        "valid_count": len(valid),
        "error_count": invalid,
        "total": len(items),
    }


def _summary(result: Any) -> str:
    errors = result["error_count"]
    return f"{result['valid_count']} valid, {plural(errors, 'error')}"


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
                "description": "The items to check: a list, or a ${...} expression giving one.",
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
    run=_run,
    summarize=_summary,
)
