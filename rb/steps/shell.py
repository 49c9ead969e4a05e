"""shell: run a program with arguments (no shell is involved)."""

from __future__ import annotations

from rb.step_type import StepType, strings_object

SHELL = StepType(
    name="shell",
    summary="Run a program with arguments; no shell parses them, so values cannot inject.",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["command"],
        "properties": {
            "command": {"type": "string", "description": "Program to run (looked up on PATH)."},
            "args": {"type": "array", "items": {"type": ["string", "number"]}},
            "env": strings_object("Extra environment variables."),
            "cwd": {"type": "string", "description": "Working directory (default: the runbook's)."},
            "stdin": {"type": "string"},
            "expect_exit": {
                "oneOf": [
                    {"type": "integer"},
                    {"type": "array", "items": {"type": "integer"}},
                ],
                "description": "Exit code(s) that count as success (default 0).",
            },
        },
    },
    result="`exit_code`, `stdout` and `stderr` (text), and `json` when stdout parses as JSON.",
    result_fields=("exit_code", "stdout", "stderr", "json"),
    example={"command": "kubectl", "args": ["rollout", "status", "deploy/web"]},
)
