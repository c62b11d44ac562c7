"""The read API in OpenAPI terms."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from monitor.api.openapi import (
    CANNOT_READ,
    NO_SUCH_PROJECT,
    PROJECT_PARAMETER,
    TIME_HELP,
    UNAUTHENTICATED,
    UNAVAILABLE,
    error,
)
from monitor.api.params import BIGINT_MAX
from monitor.metrics.query import DIMENSIONS

_NUMBER = {"type": "number", "nullable": True}
_PERCENTILES = {"type": "object", "properties": {p: _NUMBER for p in ("p50", "p95", "p99")}}
_WITH_MEAN = {"type": "object", "properties": {p: _NUMBER for p in ("mean", "p50", "p95", "p99")}}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}, "example": {"tier": "o3"}}
_TIME = {"type": "string", "format": "date-time"}

_POINT = {
    "type": "object",
    "properties": {
        "t": _TIME,
        "requests": {"type": "integer"},
        "qps": _NUMBER,
        "peak_qps": _NUMBER,
        "error_rate": _NUMBER,
        "latency_ms": _WITH_MEAN,
        "ttft_ms": _WITH_MEAN,
        "tokens_out_per_s": _NUMBER,
        "cost": _NUMBER,
        "cost_per_call": _NUMBER,
    },
}
_ROW = {
    "type": "object",
    "properties": {
        "labels": _LABELS,
        "requests": {"type": "integer"},
        "errors": {"type": "integer"},
        "avg_latency_ms": _NUMBER,
        "latency_ms": _PERCENTILES,
        "ttft_ms": _PERCENTILES,
        "peak_qps": _NUMBER,
        "error_rate": _NUMBER,
        "availability": _NUMBER,
        "stability": _NUMBER,
        "cost_per_call": _NUMBER,
        "total_cost": _NUMBER,
        "projected_daily_cost": _NUMBER,
        "tokens_in": {"type": "integer", "nullable": True},
        "tokens_out": {"type": "integer", "nullable": True},
        "tokens_out_per_s": _NUMBER,
        "cache_hit_rate": _NUMBER,
        "energy_per_call_wh": _NUMBER,
    },
}
_GROUP_BY = {"type": "array", "items": {"type": "string", "enum": list(DIMENSIONS)}}

METRICS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "from": _TIME,
        "to": _TIME,
        "step_s": {"type": "integer"},
        "group_by": _GROUP_BY,
        "series": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"labels": _LABELS, "points": {"type": "array", "items": _POINT}},
            },
        },
    },
}
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"from": _TIME, "to": _TIME, "group_by": _GROUP_BY, "rows": {"type": "array", "items": _ROW}},
}


_ERRORS = {
    400: error("A bad or unknown parameter, a bad range or step."),
    401: UNAUTHENTICATED,
    403: CANNOT_READ,
    404: error(NO_SUCH_PROJECT + "."),
    503: UNAVAILABLE,
}

METRICS_RESPONSES = {200: OpenApiResponse(METRICS_SCHEMA, description="One series per group with calls."), **_ERRORS}
REPORT_RESPONSES = {200: OpenApiResponse(REPORT_SCHEMA, description="One row per group with calls."), **_ERRORS}

_COMMON = [
    OpenApiParameter("from", OpenApiTypes.STR, description=f"{TIME_HELP}; default: an hour before `to`."),
    OpenApiParameter("to", OpenApiTypes.STR, description=f"{TIME_HELP}, exclusive; default and maximum: now."),
    OpenApiParameter(
        "group_by", OpenApiTypes.STR, description="Comma-separated from tier, model, service, deployment; default tier."
    ),
    *(
        OpenApiParameter(name, OpenApiTypes.STR, many=True, description=f"Only this {name}; repeat for any of several.")
        for name in ("tier", "model", "service", "deployment")
    ),
    PROJECT_PARAMETER,
]
METRICS_PARAMETERS = [
    *_COMMON,
    OpenApiParameter(
        "step",
        {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
        description="Bucket size in seconds (≥ 1, default 60, ≤ 10,000 points); longer than the range: one point.",
    ),
]
REPORT_PARAMETERS = [
    *_COMMON,
    OpenApiParameter(
        "stability_interval",
        {"type": "integer", "minimum": 60, "maximum": BIGINT_MAX - BIGINT_MAX % 60, "multipleOf": 60},
        description="Stability's interval in seconds, a multiple of 60.",
    ),
]
