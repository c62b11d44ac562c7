"""What every endpoint's OpenAPI description shares: the error body and the common answers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from monitor.catalogue.names import MAX_NAME_LENGTH

from .errors import MAX_DETAILS

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "details"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, as a sentence."},
        "details": {
            "type": "array",
            "maxItems": MAX_DETAILS,
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer", "nullable": True, "description": "Record index; null for the batch."},
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

NAME_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}
TIME_HELP = "Unix seconds or RFC 3339 with an offset"
PROJECT_PARAMETER = OpenApiParameter(
    "project", OpenApiTypes.STR, description="Project slug, for a session user with several projects."
)


def error(description: str) -> OpenApiResponse:
    """An answer with the contract's error body."""
    return OpenApiResponse(response=ERROR_SCHEMA, description=description)


UNAUTHENTICATED = error("No key or session, or an unknown or revoked key.")
CANNOT_READ = error("The key has neither the read nor the admin scope.")
CANNOT_MANAGE = error("The key lacks the admin scope, or the logged-in user does not own the project.")
NO_SUCH_PROJECT = "`project` names no project you can read"
UNAVAILABLE = error("The database is unreachable; see Retry-After.")
