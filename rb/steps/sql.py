"""sql_query: run one SQL statement with bound parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType
from rb.wording import plural

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    from rb.world.base import SqlRequest

    request = SqlRequest(
        database_url=str(inputs["database_url"]),
        query=str(inputs["query"]),
        params=dict(inputs.get("params") or {}),
        max_rows=int(inputs.get("max_rows", 10_000)),
    )
    return (await ctx.world.sql(request, step_id=ctx.step_id)).document()


def _summary(result: Any) -> str:
    n = result["row_count"]
    return plural(n, "row")


SQL_QUERY = StepType(
    name="sql_query",
    summary="Run one SQL statement with bound parameters (any SQLAlchemy URL).",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["database_url", "query"],
        "properties": {
            "database_url": {
                "type": "string",
                "description": "SQLAlchemy URL; keep passwords in secrets: ${secrets.DB_URL}.",
            },
            "query": {
                "type": "string",
                "description": "SQL text with :name placeholders. Never put ${...} here.",
            },
            "params": {"type": "object", "description": "Values bound to the :name placeholders."},
            "max_rows": {"type": "integer", "minimum": 1, "maximum": 100000},
            "allow_sql_interpolation": {
                "type": "boolean",
                "description": "true lets ${...} into query (RB062): only for trusted text, "
                "such as a table name from a fixed list. Values belong in params.",
            },
        },
    },
    result="`rows` (list of mappings, column name to value), `row_count` and `columns`.",
    result_fields=("rows", "row_count", "columns"),
    sql_inputs=frozenset({"query"}),
    run=_run,
    summarize=_summary,
    example={
        "database_url": "${secrets.REPLICA_DB_URL}",
        "query": "SELECT pg_is_in_recovery() AS standby",
    },
)
