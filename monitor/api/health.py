"""``/healthz`` (the process is up) and ``/readyz`` (database and broker reachable).

DRF views without authentication, so they are in the OpenAPI document and any error
(a ``POST``, say) is the contract's JSON body.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.db import connection
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import UNAVAILABLE_RETRY_AFTER_S
from .openapi import error

_CHECKS = {"type": "object", "properties": {"database": {"type": "boolean"}, "broker": {"type": "boolean"}}}
_READY: dict[str, Any] = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {"status": {"type": "string", "enum": ["ready", "unavailable"]}, "checks": _CHECKS},
}
_UP: dict[str, Any] = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
_METHOD = error("A method other than GET.")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return bool(client.ping())
    except redis.RedisError:
        return False


class Probe(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


class HealthzView(Probe):
    @extend_schema(
        operation_id="healthz",
        summary="The process is up",
        tags=["health"],
        responses={200: OpenApiResponse(_UP, description="Always, while the process runs."), 405: _METHOD},
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyzView(Probe):
    @extend_schema(
        operation_id="readyz",
        summary="The database and the broker are reachable",
        tags=["health"],
        parameters=[
            OpenApiParameter(
                "Retry-After", int, OpenApiParameter.HEADER, response=[503], description="Seconds to wait."
            )
        ],
        responses={
            200: OpenApiResponse(_READY, description="Both reachable."),
            405: _METHOD,
            503: OpenApiResponse(_READY, description="One is not; `checks` says which."),
        },
    )
    def get(self, request: Request) -> Response:
        checks = {"database": _database_ok(), "broker": _broker_ok()}
        if all(checks.values()):
            return Response({"status": "ready", "checks": checks})
        headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}
        return Response({"status": "unavailable", "checks": checks}, status=503, headers=headers)
