"""``GET/POST /api/v1/annotations`` and ``DELETE /api/v1/annotations/<id>``.

Reading follows the read API (a read or admin key, or a logged-in member); writing
needs an admin key or a session of the project's owner.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitor.api.access import CanReadOrManage, project_for, project_to_manage
from monitor.api.auth import ApiKeyAuthentication
from monitor.api.errors import ApiError
from monitor.api.openapi import PROJECT_PARAMETER
from monitor.api.params import check_names, one, parse_id, parse_span

from .openapi import (
    CREATE_EXAMPLES,
    CREATE_RESPONSES,
    DELETE_PARAMETERS,
    DELETE_RESPONSES,
    LIST_PARAMETERS,
    LIST_RESPONSES,
    REQUEST_SCHEMA,
)
from .queries import annotation_for, annotations_in
from .serializers import AnnotationSerializer

DEFAULT_LIST_S = 30 * 86_400
LIST_PARAMETER_NAMES = {"from", "to", "project"}
MANAGING = "record or delete annotations"


class AnnotationAccess(CanReadOrManage):
    manage_message = "This API key cannot manage annotations: it needs the 'admin' scope."


class AnnotationsBase(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [AnnotationAccess]
    parser_classes = [JSONParser]
    rejected = "The annotation was not recorded"  # leads a 400's sentence


class AnnotationsView(AnnotationsBase):
    @extend_schema(
        operation_id="annotations_list",
        summary="Annotations in a time range",
        description="Oldest first. Default range: the 30 days up to now; `to` is exclusive and may be in the future.",
        tags=["annotations"],
        parameters=LIST_PARAMETERS,
        responses=LIST_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        project_id = project_for(request)
        params = dict(request.query_params.lists())
        check_names(params, LIST_PARAMETER_NAMES)
        start, end = parse_span(one(params, "from"), one(params, "to"), keep_future=True, default_s=DEFAULT_LIST_S)
        notes = annotations_in(project_id, start, end)
        return Response({"annotations": [AnnotationSerializer(note).data for note in notes]})

    @extend_schema(
        operation_id="annotations_create",
        summary="Record an annotation",
        description="An admin key, or a logged-in owner of the project. Drawn on every chart of the project.",
        tags=["annotations"],
        parameters=[PROJECT_PARAMETER],
        request={"application/json": REQUEST_SCHEMA},
        responses=CREATE_RESPONSES,
        examples=CREATE_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        project_id = project_to_manage(request, MANAGING)
        serializer = AnnotationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user
        serializer.save(project_id=project_id, created_by=user if isinstance(user, User) else None)
        return Response(serializer.data, status=201)


class AnnotationView(AnnotationsBase):
    @extend_schema(
        operation_id="annotations_delete",
        summary="Delete an annotation",
        description="An admin key, or a logged-in owner of the project.",
        tags=["annotations"],
        parameters=DELETE_PARAMETERS,
        responses=DELETE_RESPONSES,
    )
    def delete(self, request: Request, id: str) -> Response:
        project_id = project_to_manage(request, MANAGING)
        pk = parse_id(id)
        note = None if pk is None else annotation_for(project_id, pk)
        if note is None:
            shown = repr(id) if pk is None else pk
            raise ApiError(
                404,
                f"No annotation {shown} in this project.",
                [{"field": "id", "message": "is not an annotation here"}],
            )
        note.delete()
        return Response(status=204)
