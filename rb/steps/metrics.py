"""metrics_publish: push metrics to a Prometheus Pushgateway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType, strings_object

if TYPE_CHECKING:
    from rb.engine.context import StepContext


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    from rb.errors import StepError
    from rb.steps._http_run import send
    from rb.world.base import HttpRequest

    gateway = inputs.get("gateway_url") or ctx.world.env.get("RB_PUSHGATEWAY_URL")
    if not gateway:
        raise StepError(
            "no Pushgateway: give gateway_url, or set the RB_PUSHGATEWAY_URL variable",
            retryable=False,
            kind="invalid_input",
        )
    job = str(inputs.get("job") or ctx.runbook_id)
    path = "/metrics" + _segment("job", job)
    for name, value in sorted((inputs.get("labels") or {}).items()):
        path += _segment(str(name), str(value))
    lines = []
    for name, value in inputs["metrics"].items():
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int | float):
            raise StepError(
                f"metric {name!r} is {value!r}, not a number",
                retryable=False,
                kind="invalid_input",
            )
        lines.append(f"# TYPE {name} gauge\n{name} {value}\n")
    url = str(gateway).rstrip("/") + path
    # PUT replaces the group's metrics, so a rerun never leaves stale series.
    request = HttpRequest(
        "PUT", url, headers={"Content-Type": "text/plain; version=0.0.4"}, body="".join(lines)
    )
    await send(ctx, request, None)
    return {"published": sorted(inputs["metrics"]), "gateway": str(gateway), "job": job}


def _segment(name: str, value: str) -> str:
    """One `/name/value` pair of a Pushgateway grouping key.

    The gateway splits the decoded path on "/", so a value holding "/" (or an
    empty value) goes in its `name@base64/<url-safe base64>` form.
    """
    import base64
    from urllib.parse import quote

    if "/" in value or not value:
        encoded = base64.urlsafe_b64encode(value.encode()).decode() or "="
        return f"/{quote(name, safe='')}@base64/{encoded}"
    return f"/{quote(name, safe='')}/{quote(value, safe='')}"


def _summary(result: Any) -> str:
    return f"{len(result['published'])} metrics published"


METRICS_PUBLISH = StepType(
    name="metrics_publish",
    summary="Push gauges to a Prometheus Pushgateway (text exposition format).",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["metrics"],
        "properties": {
            "metrics": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
                "additionalProperties": {"type": ["number", "boolean"]},
                "description": "Metric name to numeric value.",
            },
            "gateway_url": {
                "type": "string",
                "description": "Pushgateway base URL (default: the RB_PUSHGATEWAY_URL variable).",
            },
            "job": {"type": "string", "description": "Job label (default: the runbook id)."},
            "labels": strings_object("Grouping labels added to the push URL."),
        },
    },
    result="`published` (the metric names pushed), `gateway` (URL) and `job`.",
    result_fields=("published", "gateway", "job"),
    example={"metrics": {"entities_processed": "${len(steps.enrich.outputs.enriched)}"}},
    run=_run,
    summarize=_summary,
)
