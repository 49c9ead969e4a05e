"""`rb types`: the registered step types."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from rb.errors import EXIT_OK
from rb.plugins import step_types


def types(*, output_format: str = "text", out: TextIO | None = None) -> int:
    """List step types: name, summary, inputs (required marked with *)."""
    out = out or sys.stdout
    registered = step_types()
    if output_format == "json":
        data = [
            {
                "name": t.name,
                "summary": t.summary,
                "input_schema": t.input_schema,
                "result": t.result,
            }
            for t in registered.values()
        ]
        json.dump(data, out, indent=2)
        out.write("\n")
        return EXIT_OK
    for t in registered.values():
        # A deprecated input is kept in the schema only to explain its migration.
        props = {
            k: v for k, v in t.input_schema.get("properties", {}).items() if not v.get("deprecated")
        }
        required = set(t.input_schema.get("required", ()))
        inputs = ", ".join(f"{k}*" if k in required else k for k in props)
        out.write(f"{t.name:<16} {t.summary}\n{'':<16} inputs: {inputs}\n")
    return EXIT_OK
