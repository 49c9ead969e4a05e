"""Step types come from entry points; third-party plugins register the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

from rb.plugins import step_types
from rb.step_type import StepType

BUILTINS = {
    "data_fetch",
    "api_call",
    "schema_check",
    "sql_query",
    "metrics_publish",
    "ui_screenshot",
    "wait",
    "shell",
}


def test_builtins_are_registered_through_entry_points() -> None:
    assert set(step_types()) >= BUILTINS


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_each_builtin_declares_a_valid_schema_that_accepts_its_example(name: str) -> None:
    step_type = step_types()[name]
    jsonschema.Draft7Validator.check_schema(dict(step_type.input_schema))
    example = {k: v for k, v in step_type.example.items()}
    errors = [
        e
        for e in jsonschema.Draft7Validator(dict(step_type.input_schema)).iter_errors(example)
        if not (isinstance(e.instance, str) and "${" in e.instance)
    ]
    assert errors == []
    assert step_type.result


def _install_plugin(tmp_path: Path, body: str, name: str = "ticket") -> dict[str, str]:
    """A real installed distribution (dist-info with entry points) on PYTHONPATH."""
    (tmp_path / "rb_ticket.py").write_text(textwrap.dedent(body))
    info = tmp_path / "rb_ticket-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rb-ticket\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[rb.step_types]\n{name} = rb_ticket:TICKET\n")
    return {**os.environ, "PYTHONPATH": str(tmp_path), "NO_COLOR": "1"}


RUNBOOK = """\
id: plugin-user
name: Uses a plugin step
version: "1"
steps:
  - id: open
    type: ticket
    inputs: {queue: ops, titel: "Disk full"}
"""

PLUGIN = """
from rb.step_type import StepType

TICKET = StepType(
    name="ticket",
    summary="Open a ticket.",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["queue", "title"],
        "properties": {"queue": {"type": "string"}, "title": {"type": "string"}},
    },
    result="`id` of the ticket.",
    example={"queue": "ops", "title": "x"},
)
"""


def test_third_party_step_type_is_validated_like_a_builtin(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path, PLUGIN)
    runbook = tmp_path / "rb.yaml"
    runbook.write_text(RUNBOOK)
    result = subprocess.run(
        [sys.executable, "-m", "rb", "validate", str(runbook)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "unknown key 'titel' in step 'open' inputs; did you mean 'title'?" in result.stdout
    types = subprocess.run(
        [sys.executable, "-m", "rb", "types"], capture_output=True, text=True, env=env, check=False
    )
    assert "ticket" in types.stdout and "Open a ticket." in types.stdout


def test_a_broken_plugin_is_named_in_the_error(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path, PLUGIN, name="tickets")
    runbook = tmp_path / "rb.yaml"
    runbook.write_text(RUNBOOK)
    result = subprocess.run(
        [sys.executable, "-m", "rb", "validate", str(runbook)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "step type plugin 'tickets = rb_ticket:TICKET (from rb-ticket)'" in result.stderr
    assert "declares name 'ticket' but is registered as 'tickets'" in result.stderr


def test_step_type_is_frozen() -> None:
    step_type = step_types()["wait"]
    assert isinstance(step_type, StepType)
    with pytest.raises(AttributeError):
        step_type.name = "other"  # type: ignore[misc]


def test_a_name_registered_twice_names_both_in_a_fixed_order(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path, PLUGIN.replace('name="ticket"', 'name="wait"'), name="wait")
    result = subprocess.run(
        [sys.executable, "-m", "rb", "types"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 2
    assert (
        "step type plugin 'wait': registered twice: by wait = rb.steps.wait:WAIT (from rb) "
        "and by wait = rb_ticket:TICKET (from rb-ticket); rename one" in result.stderr
    )
