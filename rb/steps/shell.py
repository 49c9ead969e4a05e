"""shell: run a program with arguments (no shell is involved)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType, strings_object
from rb.wording import plural

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    import json

    from rb.errors import StepError
    from rb.world.base import ShellRequest

    cwd = inputs.get("cwd")
    request = ShellRequest(
        command=str(inputs["command"]),
        args=tuple(str(a) for a in inputs.get("args") or ()),
        env={str(k): str(v) for k, v in (inputs.get("env") or {}).items()},
        cwd=str(ctx.base_dir / cwd) if cwd else str(ctx.base_dir),
        stdin=inputs.get("stdin"),
    )
    done = await ctx.world.shell(request, step_id=ctx.step_id)
    expect = inputs.get("expect_exit", 0)
    allowed = [expect] if isinstance(expect, int) else list(expect)
    if done.exit_code not in allowed:
        tail = done.stderr.strip().splitlines()[-3:] or done.stdout.strip().splitlines()[-3:]
        detail = f": {' / '.join(tail)}" if tail else ""
        raise StepError(f"{request.command} exited with {done.exit_code}{detail}", kind="exit_code")
    try:
        parsed = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        parsed = None
    return {
        "exit_code": done.exit_code,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "json": parsed,
    }


def _summary(result: Any) -> str:
    lines = len(result["stdout"].splitlines())
    return f"exit {result['exit_code']}, {plural(lines, 'line')} of output"


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
                "type": ["integer", "array"],  # not `oneOf`: see EXPECT_STATUS
                "items": {"type": "integer"},
                "description": "Exit code(s) that count as success (default 0).",
            },
        },
    },
    result="`exit_code`, `stdout` and `stderr` (text), and `json` when stdout parses as JSON.",
    result_fields=("exit_code", "stdout", "stderr", "json"),
    example={"command": "kubectl", "args": ["rollout", "status", "deploy/web"]},
    run=_run,
    summarize=_summary,
)
