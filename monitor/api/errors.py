"""The contract's error body, ``{"error": "<sentence>", "details": [...]}``, for every API error.

Views raise ``ApiError`` (or ``ParamError`` for a bad request parameter, or a DRF
``ValidationError`` from a serializer); ``exception_handler`` turns each into the body.
A database that cannot be reached is a ``503`` with ``Retry-After``; any other failure
is a defect: logged, and answered ``500`` with the same body.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

# While the database is unreachable clients should back off and retry, not give up.
UNAVAILABLE_RETRY_AFTER_S = 5
MAX_DETAILS = 100
INTERNAL_ERROR = "An internal error occurred; it has been logged."
# Besides class 08 (connection exceptions): the server is shutting down (57P01 admin_shutdown,
# 57P02 crash_shutdown), starting up (57P03 cannot_connect_now) or full (53300 too_many_connections).
UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONNECTION_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


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


class ParamError(ValueError):
    """A bad request parameter: answered as a 400 naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def _encodable(value: Any) -> Any:
    """A message may echo the request: a lone surrogate (a JSON "\\udcff" escape) becomes the text
    ``\\udcff``, since UTF-8 cannot encode it and the answer would fail to render."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def error_response(
    status_code: int, error: str, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
) -> Response:
    items = [{key: _encodable(value) for key, value in item.items()} for item in (details or [])[:MAX_DETAILS]]
    return Response({"error": _encodable(error), "details": items}, status=status_code, headers=headers)


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a psycopg error, or of the one a Django database error wraps."""
    for candidate in (exc, exc.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def database_unreachable(exc: BaseException) -> bool:
    """True for a connection failure (class 08, a server shutting down, starting or full, or no
    connection at all); False for every other error, which a retry would not cure."""
    if not isinstance(exc, _CONNECTION_ERRORS):
        return False
    state = sqlstate(exc)
    return state is None or state.startswith("08") or state in UNREACHABLE_SQLSTATES


def field_details(detail: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Flatten a DRF ValidationError detail into ``{"field", "message"}`` items (``a.b`` for nested fields)."""
    if isinstance(detail, dict):
        items: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            items += field_details(value, prefix if key == "non_field_errors" else name)
        return items
    if isinstance(detail, list):
        items = []
        for value in detail:
            items += field_details(value, prefix)
        return items
    return [{"field": prefix or None, "message": str(detail)}]


def describe(details: list[dict[str, Any]]) -> str:
    """The first problem as a phrase: ``text must not be blank``."""
    if not details:
        return "the input is invalid"
    field, message = details[0]["field"], str(details[0]["message"]).rstrip(".")
    if not field:
        return message
    return f"{field} {message}" if message[:1].islower() else f"{field}: {message}"


def _sentence(detail: Any) -> str:
    text = str(detail)
    return text if text.endswith(".") else text + "."


def _internal_error(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    logger.error("Internal Server Error: %s", getattr(request, "path", "?"), exc_info=exc)
    set_rollback()
    return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, INTERNAL_ERROR)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    _answer_in_json(context.get("request"))
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.error, exc.details, exc.headers)
    if isinstance(exc, ParamError):
        return error_response(400, f"{exc.field} {exc.message}.", [{"field": exc.field, "message": exc.message}])
    if database_unreachable(exc):
        set_rollback()
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The database is unreachable; retry later.",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return _internal_error(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        details = field_details(exc.detail)
        # A view may say what was refused, e.g. "The annotation was not recorded".
        lead = getattr(context.get("view"), "rejected", "The request was rejected")
        return error_response(response.status_code, f"{lead}: {describe(details)}.", details, _headers(response))
    # DRF's own wording (Http404 and PermissionDenied become NotFound and its kin), else the status's.
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    text = str(detail or exc) or HTTPStatus(response.status_code).phrase
    return error_response(response.status_code, _sentence(text), headers=_headers(response))


def _answer_in_json(request: Any) -> None:
    """An error is JSON even from a view that renders something else (the schema view's YAML),
    and even when the Accept header allows nothing the view can render (the 406 itself)."""
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def _headers(response: Response) -> dict[str, str]:
    # What DRF's handler set: WWW-Authenticate on a 401, Retry-After on a throttled 429.
    return {name: value for name, value in response.items() if name in {"WWW-Authenticate", "Retry-After"}}
