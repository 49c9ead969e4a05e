"""What every check needs: the runbook, its source, and a place to report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from rb.diagnostics import Diagnostic, make
from rb.model import Runbook, Step
from rb.source import DataPath
from rb.step_type import StepType

if TYPE_CHECKING:
    from rb.graph import Ancestry


@dataclass
class CheckContext:
    runbook: Runbook
    step_types: Mapping[str, StepType]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ancestry: Ancestry | None = None  # set once the graph is known to be acyclic
    used_outputs: set[tuple[str, str]] = field(default_factory=set)
    used_parameters: set[str] = field(default_factory=set)

    @cached_property
    def steps(self) -> dict[str, Step]:
        """Steps by id (the first of duplicated ids wins); built once."""
        out: dict[str, Step] = {}
        for step in self.runbook.steps:
            out.setdefault(step.id, step)
        return out

    def report(self, path: DataPath, code: str, message: str, *, key: bool = False) -> None:
        pos = self.runbook.source.position(path, key=key)
        self.report_at(pos.line, pos.col, code, message)

    def report_in_string(self, path: DataPath, offset: int, code: str, message: str) -> None:
        pos = self.runbook.source.string_offset(path, offset)
        self.report_at(pos.line, pos.col, code, message)

    def report_at(self, line: int, col: int, code: str, message: str) -> None:
        self.diagnostics.append(make(self.runbook.source.path, line, col, code, message))
