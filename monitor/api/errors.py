"""The contract's error body, ``{"error": "<sentence>", "details": [...]}``, for every API error."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# While the database is unreachable clients should back off and retry, not give up.
UNAVAILABLE_RETRY_AFTER_S = 5


class ApiError(exceptions.APIException):
    """An error answer with the contract's body; raise it from any API view."""

    def __init__(
        self,
        status_code: int,
        error: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=error)
        self.status_code = status_code
        self.error = error
        self.details = details or []
        self.headers = headers or {}


def error_response(
    status_code: int, error: str, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
) -> Response:
    return Response({"error": error, "details": details or []}, status=status_code, headers=headers)


def _sentence(detail: Any) -> str:
    text = str(detail)
    return text if text.endswith(".") else text + "."


def _field_details(detail: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Flatten a DRF ValidationError detail into ``{"field", "message"}`` items."""
    if isinstance(detail, dict):
        items: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            items += _field_details(value, "" if key == "non_field_errors" else name)
        return items
    if isinstance(detail, list):
        items = []
        for value in detail:
            items += _field_details(value, prefix)
        return items
    return [{"field": prefix or None, "message": str(detail)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.error, exc.details, exc.headers)
    # psycopg's own class too: COPY runs on the raw cursor, outside Django's error wrapping.
    if isinstance(exc, (OperationalError, InterfaceError, psycopg.OperationalError)):
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The database is unreachable; retry later.",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = _field_details(exc.detail)
        first = details[0] if details else {"field": None, "message": "invalid input"}
        where = f"{first['field']}: " if first["field"] else ""
        response.data = {"error": f"Invalid input. {where}{first['message']}", "details": details}
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = {"error": _sentence(detail), "details": []}
    return response
