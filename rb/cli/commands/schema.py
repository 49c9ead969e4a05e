"""`rb schema`: the runbook JSON Schema with every step type's inputs.

Editors (yaml-language-server) get completion and inline errors from it. Each
step type's input schema is attached with if/then on `type`, widened so a
`${...}` string is accepted wherever a value is, as rb validate does.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from rb.errors import EXIT_OK
from rb.jsonschema_check import allow_expressions
from rb.loader import format_schema
from rb.plugins import step_types
from rb.step_type import StepType


def editor_schema(types: Mapping[str, StepType]) -> dict[str, Any]:
    """The format schema plus per-type input schemas, for editors."""
    schema = copy.deepcopy(format_schema())
    step = schema["definitions"]["step"]
    step["properties"]["type"] = {
        "enum": sorted(types),
        "description": "The step type.",
        "x-enumDescriptions": [types[n].summary for n in sorted(types)],
    }
    step["allOf"] = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {
                "properties": {
                    "inputs": {**allow_expressions(t.input_schema), "description": t.summary}
                }
            },
        }
        for name, t in sorted(types.items())
    ]
    return schema


def schema(out: TextIO | None = None) -> int:
    """Print the editor schema as JSON."""
    json.dump(editor_schema(step_types()), out or sys.stdout, indent=2)
    (out or sys.stdout).write("\n")
    return EXIT_OK
