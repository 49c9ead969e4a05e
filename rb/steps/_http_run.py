"""Running data_fetch and api_call through the World's HTTP seam."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rb.engine.context import StepContext
from rb.errors import StepError
from rb.world.base import HttpRequest, HttpResponse

API_CALL_INPUTS = frozenset(
    {
        "url",
        "endpoint",
        "base_url",
        "method",
        "headers",
        "query",
        "variables",
        "params",
        "auth_token",
        "json",
        "body",
        "expect_status",
    }
)


def _headers(inputs: Mapping[str, Any]) -> dict[str, str]:
    headers = {str(k): str(v) for k, v in (inputs.get("headers") or {}).items()}
    if inputs.get("auth_token"):
        headers["Authorization"] = f"Bearer {inputs['auth_token']}"
    return headers


async def send(ctx: StepContext, request: HttpRequest, expect: Any) -> HttpResponse:
    """Send through the World and check the status."""
    response = await ctx.world.http(request, step_id=ctx.step_id)
    expected = [expect] if isinstance(expect, int) else expect
    ok = response.status in expected if expected else 200 <= response.status < 300
    if not ok:
        # Server errors and throttling may pass; other client errors will not.
        retryable = response.status >= 500 or response.status in (408, 429)
        raise StepError(
            f"HTTP {response.status} from {request.method} {request.url}{_reason(response)}",
            retryable=retryable,
            kind="http_status",
        )
    return response


def _reason(response: HttpResponse) -> str:
    """The start of an error body, which often says why ("odd number of ...")."""
    body = response.body
    if body in (None, "", {}, []):
        return ""
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True)
    text = " ".join(text.split())
    return f": {text[:200]}{'...' if len(text) > 200 else ''}"


async def run_data_fetch(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    request = HttpRequest(
        method=str(inputs.get("method", "GET")).upper(),
        url=checked_url(inputs["source_url"], "source_url"),
        headers=_headers(inputs),
        params={str(k): str(v) for k, v in (inputs.get("query") or {}).items()},
        json=inputs.get("json"),
        has_json="json" in inputs,
        body=inputs.get("body"),
    )
    return (await send(ctx, request, inputs.get("expect_status"))).document()


async def run_api_call(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    url = checked_url(
        inputs.get("url") or _join(ctx, inputs), "url" if "url" in inputs else "endpoint"
    )
    if "query" in inputs:
        document = _graphql_document(ctx, inputs["query"])
        variables = dict(inputs.get("variables") or {})
        variables.update({k: v for k, v in inputs.items() if k not in API_CALL_INPUTS})
        request = HttpRequest(
            method=str(inputs.get("method", "POST")).upper(),
            url=url,
            headers={"Content-Type": "application/json", **_headers(inputs)},
            json={"query": document, "variables": variables},
            has_json=True,
        )
        response = await send(ctx, request, inputs.get("expect_status"))
        errors = response.body.get("errors") if isinstance(response.body, dict) else None
        if errors:
            first = (
                errors[0].get("message", errors[0]) if isinstance(errors[0], dict) else errors[0]
            )
            raise StepError(f"GraphQL error from {url}: {first}", retryable=False, kind="graphql")
        return response.document()
    request = HttpRequest(
        method=str(inputs.get("method", "GET")).upper(),
        url=url,
        headers=_headers(inputs),
        params={str(k): str(v) for k, v in (inputs.get("params") or {}).items()},
        json=inputs.get("json"),
        has_json="json" in inputs,
        body=inputs.get("body"),
    )
    return (await send(ctx, request, inputs.get("expect_status"))).document()


def checked_url(url: str, name: str) -> str:
    """`url` if an HTTP client can send it; else a StepError saying why.

    Interpolated values are encoded already (rb.expressions.urls); this catches
    what no encoding fixes: a line break in a whole-URL value, a missing host.
    """
    bad = next((c for c in url if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        shown = "a line break" if bad in "\r\n" else f"the control character {bad!r}"
        raise StepError(
            f"{name} is not a valid URL: it holds {shown}", retryable=False, kind="invalid_input"
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise StepError(
            f"{name} is not a valid URL: {exc}", retryable=False, kind="invalid_input"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StepError(
            f"{name} is not an absolute http(s) URL with a host",
            retryable=False,
            kind="invalid_input",
        )
    return url


def _join(ctx: StepContext, inputs: Mapping[str, Any]) -> str:
    base = inputs.get("base_url") or ctx.world.env.get("API_BASE_URL")
    if not base:
        raise StepError(
            "endpoint needs a base URL: give base_url, or set the API_BASE_URL variable",
            retryable=False,
            kind="invalid_input",
        )
    return str(base).rstrip("/") + "/" + str(inputs["endpoint"]).lstrip("/")


def _graphql_document(ctx: StepContext, query: str) -> str:
    if query.strip().endswith(".graphql") and "\n" not in query.strip():
        path = ctx.base_dir / query.strip()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StepError(
                f"cannot read GraphQL file {path}: {exc.strerror}", retryable=False
            ) from None
    return query


def summarize_http(result: Mapping[str, Any]) -> str:
    """ "HTTP 200, 200 items": the status and the longest list in the body."""
    count = _longest_list(result.get("body"), depth=3)
    return f"HTTP {result['status']}" + (f", {count} items" if count is not None else "")


def _longest_list(value: Any, depth: int) -> int | None:
    if isinstance(value, list):
        return len(value)
    if depth == 0 or not isinstance(value, dict):
        return None
    found = [n for v in value.values() if (n := _longest_list(v, depth - 1)) is not None]
    return max(found) if found else None
