"""The ingest contract in OpenAPI terms, built from the same rules the validator uses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from monitor.api.openapi import NAME_SCHEMA, UNAUTHENTICATED
from monitor.api.openapi import error as _error

from .schema import FIELD_RULES, INT32_MAX, INT64_MAX, MAX_COST, MAX_DURATION_MS, MAX_ENERGY_WH, MAX_RECORDS

_NAME = NAME_SCHEMA
_TYPES: dict[str, dict[str, Any]] = {
    "ts": {"oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]},
    "service": _NAME,
    "tier": _NAME,
    "model": _NAME,
    "deployment": _NAME,
    "latency_ms": {"type": "number", "minimum": 0, "maximum": MAX_DURATION_MS},
    "ttft_ms": {"type": "number", "minimum": 0, "maximum": MAX_DURATION_MS},
    "tokens_in": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
    "tokens_out": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
    "reasoning_tokens": {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
    "status": {"type": "string", "enum": ["ok", "error"], "default": "ok"},
    "error_type": _NAME,
    "cost": {"type": "number", "minimum": 0, "maximum": MAX_COST},
    "cache_hit": {"type": "boolean"},
    "energy_wh": {"type": "number", "minimum": 0, "maximum": MAX_ENERGY_WH},
    "count": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
    "window_s": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
    "errors": {"type": "integer", "minimum": 0, "maximum": INT32_MAX},
    "cache_hits": {"type": "integer", "minimum": 0, "maximum": INT32_MAX},
}
_REQUIRED = ["ts", "service", "tier", "latency_ms"]

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "One call, or a window summary (with `count` and `window_s`) standing for `count` calls that ended in "
        "[ts − window_s, ts); a summary's latency_ms and ttft_ms are means, tokens, cost and energy totals. "
        "`null` means absent; any other field is rejected."
    ),
    "additionalProperties": False,
    "required": _REQUIRED,
    "properties": {
        name: {**_TYPES[name], "description": rule[0].upper() + rule[1:] + ".", "nullable": name not in _REQUIRED}
        for name, rule in FIELD_RULES.items()
    },
}

BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["records"],
    "properties": {"records": {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS, "items": RECORD_SCHEMA}},
}

_ACCEPTED = {"type": "object", "required": ["accepted"], "properties": {"accepted": {"type": "integer"}}}
_DUPLICATE = {
    "type": "object",
    "required": ["accepted", "duplicate"],
    "properties": {"accepted": {"type": "integer"}, "duplicate": {"type": "boolean", "enum": [True]}},
}


INGEST_RESPONSES = {
    202: OpenApiResponse(response=_ACCEPTED, description="Stored: sent only after the batch is committed."),
    200: OpenApiResponse(
        response=_DUPLICATE,
        description="This Idempotency-Key already produced a committed 202: nothing stored, the first count returned.",
    ),
    400: _error(
        "The batch is atomic: one invalid record rejects all and nothing is stored. `details` lists up to 100 "
        "problems (`index` null for batch-level ones: bad JSON, corrupt gzip, empty records, series limit)."
    ),
    401: UNAUTHENTICATED,
    403: _error("The key lacks the `ingest` scope."),
    413: _error(f"More than {MAX_RECORDS:,} records or 10 MB uncompressed."),
    415: _error("Content type other than application/json (charset=utf-8), or an encoding other than gzip."),
    429: _error("The key's rate limit (INGEST_RATE_LIMIT records/s) is exceeded; see Retry-After."),
    503: _error(
        "The database is unreachable, or more than INGEST_BACKLOG_LIMIT records wait to be rolled up; see Retry-After."
    ),
}

INGEST_PARAMETERS = [
    OpenApiParameter(
        "Idempotency-Key",
        str,
        OpenApiParameter.HEADER,
        description="1 to 200 printable characters; a resend with the same key stores nothing (kept for the "
        "raw retention). A repeat racing the first waits for it.",
    ),
    OpenApiParameter(
        "Content-Encoding", str, OpenApiParameter.HEADER, enum=["gzip", "identity"], description="Optional gzip."
    ),
    OpenApiParameter(
        "Retry-After",
        int,
        OpenApiParameter.HEADER,
        response=[429, 503],
        description="Seconds to wait before retrying.",
    ),
]

INGEST_EXAMPLES = [
    OpenApiExample(
        "One call and one window summary",
        request_only=True,
        value={
            "records": [
                {
                    "ts": 1767225600.25,
                    "service": "support-bot",
                    "tier": "4o",
                    "model": "4o-2024-11-20",
                    "deployment": "cloud-east",
                    "latency_ms": 1840.5,
                    "ttft_ms": 412.0,
                    "tokens_in": 812,
                    "tokens_out": 230,
                    "status": "ok",
                },
                {
                    "ts": "2026-01-01T00:01:00Z",
                    "service": "moderation",
                    "tier": "o4-mini",
                    "latency_ms": 161.2,
                    "count": 1200,
                    "window_s": 60,
                    "errors": 3,
                },
            ]
        },
    )
]


class IngestSchema(AutoSchema):
    """drf-spectacular leaves a raw-dict request body optional; ingest's body is required."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body: dict[str, Any] | None = super()._get_request_body(direction)  # type: ignore[no-untyped-call]
        if body is not None:
            body["required"] = True
        return body
