"""``GET/POST /api/v1/annotations`` and ``DELETE /api/v1/annotations/<id>``.

Reading follows the read API (a read or admin key, or a logged-in member); writing
needs an admin key or a session of the project's owner.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitor.api.access import CanRead, project_for
from monitor.api.auth import ApiKeyAuthentication
from monitor.api.errors import ApiError
from monitor.api.keys import KeyPrincipal
from monitor.api.openapi import ERROR_SCHEMA
from monitor.api.params import EARLIEST, MAX_RANGE_S, ParamError, parse_time
from monitor.metrics.query import DIMENSIONS
from monitor.projects.models import Membership
from monitor.timeutil import from_us, rfc3339, to_us

from .models import MAX_TEXT_LENGTH, Annotation
from .queries import annotation_for, annotations_in
from .validate import FILTER_RULE, TEXT_RULE, TIME_RULE, AnnotationRejected, parse_annotation

DEFAULT_LIST_S = 30 * 86_400
LIST_PARAMETERS = {"from", "to", "project"}


# --- access ---------------------------------------------------------------------------------------


class AnnotationAccess(BasePermission):
    """Reading: a read or admin key, or a logged-in user. Writing: an admin key, or a logged-in
    user (who must own the project: checked once the project is known)."""

    message = "This API key cannot manage annotations: it needs the 'admin' scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            self.message = CanRead.message
            return CanRead().has_permission(request, view)
        user = request.user
        if isinstance(user, KeyPrincipal):
            return user.has_scope("admin")
        return bool(user and user.is_authenticated)


def _project_to_write(request: Request) -> int:
    project_id = project_for(request)
    user = request.user
    if isinstance(user, User):
        is_owner = Membership.objects.filter(project_id=project_id, user=user, role=Membership.Role.OWNER).exists()
        if not is_owner:
            raise ApiError(403, "Only the project's owner (or an admin key) can record or delete annotations.")
    return project_id


# --- parameters and bodies ------------------------------------------------------------------------


def _bad(field: str, message: str) -> ApiError:
    return ApiError(400, f"{field} {message}.", [{"field": field, "message": message}])


def list_window(params: Mapping[str, Sequence[str]], now: float | None = None) -> tuple[int, int]:
    """``[start, end)`` in whole seconds from ``from`` / ``to``, parsed as the read API parses them.

    Unlike the read API, a ``to`` in the future is kept (an annotation may announce a change
    ahead). Default ``to``: now, the current second included; default ``from``: 30 days before ``to``.
    """
    unknown = sorted(set(params) - LIST_PARAMETERS)
    if unknown:
        raise ParamError(unknown[0], "is not a parameter of this endpoint")
    for name, values in params.items():
        if len(values) > 1:
            raise ParamError(name, "may be given once")

    def one(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    raw_from, raw_to = one("from"), one("to")
    end = math.ceil(parse_time("to", raw_to)) if raw_to else math.floor(time.time() if now is None else now) + 1
    start = math.floor(parse_time("from", raw_from)) if raw_from else end - DEFAULT_LIST_S
    if start < EARLIEST:
        raise ParamError("from", "is before the year 1")
    if start >= end:
        raise ParamError("from", "must be before to")
    if end - start > MAX_RANGE_S:
        raise ParamError("from", "makes a range over 400 days")
    return start, end


def as_json(annotation: Annotation) -> dict[str, Any]:
    """An annotation as the API answers it."""
    return {
        "id": annotation.pk,
        "time": rfc3339(to_us(annotation.time) // 1_000_000),
        "text": annotation.text,
        "filter": annotation.filter,
    }


# --- OpenAPI --------------------------------------------------------------------------------------

_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 100}}
_ANNOTATION_SCHEMA: dict[str, Any] = {
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
    "properties": {"annotations": {"type": "array", "items": _ANNOTATION_SCHEMA}},
}
_NAME_OR_NAMES = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 100}, _NAMES]}
_REQUEST_SCHEMA: dict[str, Any] = {
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
_PROJECT = OpenApiParameter(
    "project", OpenApiTypes.STR, description="Project slug, for a session user with several projects."
)
_ERR_401 = OpenApiResponse(ERROR_SCHEMA, description="No key or session, or an unknown or revoked key.")
_ERR_404_PROJECT = "`project` names no project you can read"
_ERR_503 = OpenApiResponse(ERROR_SCHEMA, description="The database is unreachable; see Retry-After.")
_WRITE_403 = OpenApiResponse(
    ERROR_SCHEMA, description="The key lacks the admin scope, or the logged-in user does not own the project."
)


# --- views ----------------------------------------------------------------------------------------


class AnnotationsBase(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [AnnotationAccess]


class AnnotationsView(AnnotationsBase):
    @extend_schema(
        operation_id="annotations_list",
        summary="Annotations in a time range",
        description="Oldest first. Default range: the 30 days up to now; `to` is exclusive and may be in the future.",
        tags=["annotations"],
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.STR,
                description="Unix seconds or RFC 3339 with an offset; default: 30 days before `to`.",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.STR,
                description="Unix seconds or RFC 3339 with an offset, "
                "exclusive; default: now (the current second included).",
            ),
            _PROJECT,
        ],
        responses={
            200: OpenApiResponse(_LIST_SCHEMA, description="The project's annotations in the range."),
            400: OpenApiResponse(ERROR_SCHEMA, description="A bad or unknown parameter, or a bad range."),
            401: _ERR_401,
            403: OpenApiResponse(ERROR_SCHEMA, description="The key has neither the read nor the admin scope."),
            404: OpenApiResponse(ERROR_SCHEMA, description=_ERR_404_PROJECT + "."),
            503: _ERR_503,
        },
    )
    def get(self, request: Request) -> Response:
        project_id = project_for(request)
        params = {name: request.query_params.getlist(name) for name in request.query_params}
        try:
            start, end = list_window(params)
        except ParamError as exc:
            raise _bad(exc.field, exc.message) from None
        return Response({"annotations": [as_json(note) for note in annotations_in(project_id, start, end)]})

    @extend_schema(
        operation_id="annotations_create",
        summary="Record an annotation",
        description="An admin key, or a logged-in owner of the project. Drawn on every chart of the project.",
        tags=["annotations"],
        parameters=[_PROJECT],
        request={"application/json": _REQUEST_SCHEMA},
        responses={
            201: OpenApiResponse(_ANNOTATION_SCHEMA, description="The annotation as stored."),
            400: OpenApiResponse(ERROR_SCHEMA, description="Bad fields; `details` names each one."),
            401: _ERR_401,
            403: _WRITE_403,
            404: OpenApiResponse(ERROR_SCHEMA, description=_ERR_404_PROJECT + "."),
            503: _ERR_503,
        },
        examples=[
            OpenApiExample(
                "A change on one tier",
                value={"time": "2026-01-31T12:00:00Z", "text": "INT8 quantisation on", "filter": {"tier": "o3"}},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        project_id = _project_to_write(request)
        try:
            parsed = parse_annotation(request.data)
        except AnnotationRejected as exc:
            first_field, first_message = exc.problems[0]
            where = f"{first_field} " if first_field else ""
            raise ApiError(
                400,
                f"The annotation was not recorded: {where}{first_message}.",
                [{"field": field, "message": message} for field, message in exc.problems],
            ) from None
        user = request.user
        note = Annotation.objects.create(
            project_id=project_id,
            time=from_us(parsed.time_s * 1_000_000),
            text=parsed.text,
            filter=parsed.filter,
            created_by=user if isinstance(user, User) else None,
        )
        return Response(as_json(note), status=201)


class AnnotationView(AnnotationsBase):
    @extend_schema(
        operation_id="annotations_delete",
        summary="Delete an annotation",
        description="An admin key, or a logged-in owner of the project.",
        tags=["annotations"],
        parameters=[OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The id."), _PROJECT],
        responses={
            204: OpenApiResponse(None, description="Deleted."),
            400: OpenApiResponse(ERROR_SCHEMA, description="A session user in several projects names none."),
            401: _ERR_401,
            403: _WRITE_403,
            404: OpenApiResponse(
                ERROR_SCHEMA, description=f"No such annotation in the project, or {_ERR_404_PROJECT}."
            ),
            503: _ERR_503,
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        project_id = _project_to_write(request)
        note = annotation_for(project_id, pk)
        if note is None:
            raise ApiError(
                404, f"No annotation {pk} in this project.", [{"field": "id", "message": "is not an annotation here"}]
            )
        note.delete()
        return Response(status=204)
