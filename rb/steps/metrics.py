"""metrics_publish: push metrics to a Prometheus Pushgateway."""

from __future__ import annotations

from rb.step_type import StepType, strings_object

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
)
