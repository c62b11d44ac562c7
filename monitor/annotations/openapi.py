"""The annotations endpoints in OpenAPI terms, worded from the serializer's rules."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from monitor.api.fields import FILTER_RULE, TIME_RULE
from monitor.api.openapi import (
    CANNOT_MANAGE,
    CANNOT_READ,
    NAME_SCHEMA,
    NO_SUCH_PROJECT,
    PROJECT_PARAMETER,
    TIME_HELP,
    UNAUTHENTICATED,
    UNAVAILABLE,
    error,
)
from monitor.metrics.query import DIMENSIONS

from .models import MAX_TEXT_LENGTH
from .serializers import TEXT_RULE

_NAMES = {"type": "array", "items": NAME_SCHEMA}
ANNOTATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "time", "text", "filter"],
    "properties": {
        "id": {"type": "integer"},
        "time": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC, whole seconds."},
        "text": {"type": "string", "maxLength": MAX_TEXT_LENGTH},
        "filter": {
            "type": "object",
            "description": "Dimension → the values it applies to; {} = the whole project.",
            "properties": {name: _NAMES for name in DIMENSIONS},
            "additionalProperties": False,
        },
    },
}
_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["annotations"],
    "properties": {"annotations": {"type": "array", "items": ANNOTATION_SCHEMA}},
}
_NAME_OR_NAMES = {"oneOf": [NAME_SCHEMA, _NAMES]}
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["time", "text"],
    "additionalProperties": False,
    "properties": {
        "time": {
            "oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}],
            "description": TIME_RULE[0].upper() + TIME_RULE[1:] + "; kept to the whole second (⌊time⌋).",
        },
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH, "description": TEXT_RULE + "."},
        "filter": {
            "type": "object",
            "nullable": True,
            "description": "Optional; " + FILTER_RULE + ". A string stands for a list of one.",
            "properties": {name: _NAME_OR_NAMES for name in DIMENSIONS},
            "additionalProperties": False,
        },
    },
}

LIST_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.STR, description=f"{TIME_HELP}; default: 30 days before `to`."),
    OpenApiParameter(
        "to", OpenApiTypes.STR, description=f"{TIME_HELP}, exclusive; default: now (the current second included)."
    ),
    PROJECT_PARAMETER,
]
LIST_RESPONSES = {
    200: OpenApiResponse(_LIST_SCHEMA, description="The project's annotations in the range."),
    400: error("A bad or unknown parameter, or a bad range."),
    401: UNAUTHENTICATED,
    403: CANNOT_READ,
    404: error(NO_SUCH_PROJECT + "."),
    503: UNAVAILABLE,
}
CREATE_RESPONSES = {
    201: OpenApiResponse(ANNOTATION_SCHEMA, description="The annotation as stored."),
    400: error("Bad fields; `details` names each one."),
    401: UNAUTHENTICATED,
    403: CANNOT_MANAGE,
    404: error(NO_SUCH_PROJECT + "."),
    415: error("A content type other than application/json."),
    503: UNAVAILABLE,
}
CREATE_EXAMPLES = [
    OpenApiExample(
        "A change on one tier",
        value={"time": "2026-01-31T12:00:00Z", "text": "INT8 quantisation on", "filter": {"tier": "o3"}},
        request_only=True,
    )
]
DELETE_PARAMETERS = [
    OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The annotation's id."),
    PROJECT_PARAMETER,
]
DELETE_RESPONSES = {
    204: OpenApiResponse(None, description="Deleted."),
    400: error("A session user in several projects names none."),
    401: UNAUTHENTICATED,
    403: CANNOT_MANAGE,
    404: error(f"No such annotation in the project (or `id` is not one), or {NO_SUCH_PROJECT}."),
    503: UNAVAILABLE,
}
