"""HTTP step types: data_fetch (read data) and api_call (REST or GraphQL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import EXPECT_STATUS, StepType, strings_object

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _data_fetch(ctx: StepContext, inputs: Mapping[str, Any]) -> Any:
    from rb.steps._http_run import run_data_fetch

    return await run_data_fetch(ctx, inputs)


async def _api_call(ctx: StepContext, inputs: Mapping[str, Any]) -> Any:
    from rb.steps._http_run import run_api_call

    return await run_api_call(ctx, inputs)


def _summary(result: Any) -> str:
    from rb.steps._http_run import summarize_http

    return summarize_http(result)


_HTTP_RESULT = (
    "the response: `status` (number), `headers` (mapping, lower-case names) and `body` "
    "(parsed JSON when the response is JSON, otherwise text). An output's JSONPath reads "
    "the body (`$.data.entities`); an expression reads the whole response as `result` "
    "(`${result.status}`, `${result.headers['x-request-id']}`, `${result.body.data}`)."
)
_METHOD = {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]}

DATA_FETCH = StepType(
    name="data_fetch",
    summary="Fetch data over HTTP (GET by default).",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["source_url"],
        "properties": {
            "source_url": {"type": "string", "description": "Absolute URL to fetch."},
            "method": _METHOD,
            "headers": strings_object("Request headers."),
            "query": strings_object("Query-string parameters."),
            "auth_token": {"type": "string", "description": "Sent as a bearer token."},
            "json": {"description": "A JSON request body."},
            "body": {"type": "string", "description": "A text request body."},
            "expect_status": EXPECT_STATUS,
        },
    },
    result=_HTTP_RESULT,
    result_fields=("status", "headers", "body"),
    query_field="body",
    url_inputs={"source_url": "url"},
    example={"source_url": "https://api.example.com/entities", "auth_token": "${secrets.API}"},
    run=_data_fetch,
    summarize=_summary,
)

API_CALL = StepType(
    name="api_call",
    summary="Call a REST or GraphQL API.",
    input_schema={
        "type": "object",
        "anyOf": [{"required": ["url"]}, {"required": ["endpoint"]}],
        "properties": {
            "url": {"type": "string", "description": "Absolute URL."},
            "endpoint": {
                "type": "string",
                "description": "Path joined to `base_url` (or the API_BASE_URL variable).",
            },
            "base_url": {"type": "string"},
            "method": _METHOD,
            "headers": strings_object("Request headers."),
            "query": {
                "type": "string",
                "description": "A GraphQL document, or a .graphql file beside the runbook. "
                "Makes the call a GraphQL POST; other inputs become its variables.",
            },
            "variables": {"type": "object", "description": "GraphQL variables."},
            "params": strings_object("Query-string parameters (REST)."),
            "auth_token": {"type": "string", "description": "Sent as a bearer token."},
            "json": {"description": "A JSON request body (REST)."},
            "body": {"type": "string", "description": "A text request body (REST)."},
            "expect_status": EXPECT_STATUS,
        },
        # Only GraphQL calls take extra inputs (as variables); for REST a
        # stray key is almost always a typo.
        "if": {"not": {"required": ["query"]}},
        "then": {
            "propertyNames": {
                "enum": [
                    "url",
                    "endpoint",
                    "base_url",
                    "method",
                    "headers",
                    "params",
                    "auth_token",
                    "json",
                    "body",
                    "expect_status",
                ]
            }
        },
    },
    result=_HTTP_RESULT + " A GraphQL answer's `errors` fail the step.",
    result_fields=("status", "headers", "body"),
    query_field="body",
    url_inputs={"url": "url", "base_url": "url", "endpoint": "path"},
    example={"url": "https://deploy.example.com/api/releases", "method": "POST", "json": {"v": 2}},
    run=_api_call,
    summarize=_summary,
)
