"""The contract a step type fulfils, for built-in and third-party types alike.

A step type is registered under the `rb.step_types` entry-point group; the
entry point names a `StepType` object. Declaring a type must stay cheap (no
heavy imports at module level): `rb validate` loads every declaration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine is not imported by `rb validate`
    from rb.engine.context import StepContext

ENTRY_POINT_GROUP = "rb.step_types"

RunFn = Callable[["StepContext", Mapping[str, Any]], Awaitable[Any]]
SummaryFn = Callable[[Any], str]


@dataclass(frozen=True)
class StepType:
    """A kind of step: what it takes, and what its result document holds."""

    name: str
    summary: str
    input_schema: Mapping[str, Any]
    result: str  # prose: the shape of the result document that outputs query
    example: Mapping[str, Any]  # example inputs, shown in docs and checked by tests
    result_fields: tuple[str, ...] | None = None  # top-level result keys, if fixed
    # The result field an output's JSONPath (`$...`) starts at, when not the
    # whole document: HTTP steps query the response body, as Hurl and k6 do,
    # while `${result...}` expressions still see status and headers.
    query_field: str | None = None
    lazy_inputs: frozenset[str] = field(default_factory=frozenset)  # evaluated by the step
    sql_inputs: frozenset[str] = field(default_factory=frozenset)  # hold SQL text
    # Inputs holding a URL ("url") or a URL path ("path"): their `${...}` values
    # are encoded for the part of the URL they land in (rb.expressions.urls).
    url_inputs: Mapping[str, str] = field(default_factory=dict)
    # Inputs saying how long the step may rightly take, in seconds.
    duration_inputs: frozenset[str] = field(default_factory=frozenset)
    # Result fields read from the clock: a live run cannot repeat them, so a
    # replay reports them as not compared.
    clock_fields: frozenset[str] = field(default_factory=frozenset)
    # run(ctx, inputs) -> result document; effects only through ctx.world.
    run: RunFn | None = field(default=None, repr=False)
    # One line for reports: "200 entities fetched". Defaults to "ok".
    summarize: SummaryFn | None = field(default=None, repr=False)


def strings_object(description: str) -> dict[str, Any]:
    """Schema of a mapping from names to text (headers, env, labels)."""
    return {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
        "description": description,
    }


# A number or a list of them, said by type rather than with `oneOf`: the
# fast validator raises and catches an exception per failing `oneOf` branch,
# on every step that checks its inputs (and the messages name the type).
EXPECT_STATUS: dict[str, Any] = {
    "description": "Status code(s) that count as success (default: any 2xx).",
    "type": ["integer", "array"],
    "minimum": 100,
    "maximum": 599,
    "items": {"type": "integer", "minimum": 100, "maximum": 599},
}
