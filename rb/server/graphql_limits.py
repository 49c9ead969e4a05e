"""Bounds on a GraphQL query's size, checked before anything runs.

Aliases let one small query ask for the same field thousands of times (5,000
`runbook` lookups took 32 s of CPU and stalled the health probes), and
fragments nested in fragments make a short text expand to a huge selection.
Every operation is therefore walked once, fragments expanded, and refused
with a 400 as soon as it has too many aliases, fields or levels. The walk
stops at the first limit passed, so checking a hostile query is cheap too.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

MAX_ALIASES = 30
MAX_FIELDS = 2000  # GraphiQL's introspection query selects about 120
MAX_DEPTH = 15  # the introspection query is 13 deep


class _TooBig(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueryLimits(ValidationRule):
    """Refuses an operation over MAX_ALIASES aliases, MAX_FIELDS fields (fragments
    expanded) or MAX_DEPTH levels of selections."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._aliases = 0
        self._fields = 0

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        self._aliases = self._fields = 0
        try:
            self._walk(node.selection_set, 1, frozenset())
        except _TooBig as exc:
            self.report_error(
                GraphQLError(
                    f"query too large: {exc.message}; split it into smaller queries",
                    node,
                    extensions={"code": "BAD_REQUEST", "status": 400},
                )
            )

    def _walk(self, selections: SelectionSetNode, depth: int, fragments: frozenset[str]) -> None:
        if depth > MAX_DEPTH:
            raise _TooBig(f"more than {MAX_DEPTH} levels of nested fields")
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self._fields += 1
                if self._fields > MAX_FIELDS:
                    raise _TooBig(f"more than {MAX_FIELDS} fields (fragments expanded)")
                if selection.alias is not None:
                    self._aliases += 1
                    if self._aliases > MAX_ALIASES:
                        raise _TooBig(f"more than {MAX_ALIASES} aliases")
                if selection.selection_set is not None:
                    self._walk(selection.selection_set, depth + 1, fragments)
            elif isinstance(selection, InlineFragmentNode):
                self._walk(selection.selection_set, depth, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                # A cycle is NoFragmentCyclesRule's to report; here it just ends.
                if fragment is not None and name not in fragments:
                    self._walk(fragment.selection_set, depth, fragments | {name})
