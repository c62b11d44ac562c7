"""``GET /api/v1/metrics`` (time series) and ``GET /api/v1/report`` (one row per group)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitor.api.access import CanRead, project_for
from monitor.api.auth import ApiKeyAuthentication
from monitor.api.params import parse_query
from monitor.metrics.engine import report, timeseries
from monitor.metrics.query import DIMENSIONS, Query
from monitor.timeutil import rfc3339

from .openapi import METRICS_PARAMETERS, METRICS_RESPONSES, REPORT_PARAMETERS, REPORT_RESPONSES

_COMMON = {"from", "to", "group_by", "project", *DIMENSIONS}


def _query(request: Request, allowed: set[str]) -> Query:
    project_id = project_for(request)
    return parse_query(project_id, dict(request.query_params.lists()), allowed=allowed)


def _envelope(query: Query) -> dict[str, Any]:
    return {
        "from": rfc3339(query.window.start),
        "to": rfc3339(query.window.end),
        "group_by": list(query.group_by),
    }


class ReadView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [CanRead]


class MetricsView(ReadView):
    @extend_schema(
        operation_id="metrics",
        summary="Time series per group",
        tags=["read"],
        parameters=METRICS_PARAMETERS,
        responses=METRICS_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        query = _query(request, _COMMON | {"step"})
        body = {**_envelope(query), "step_s": query.step, "series": timeseries(query)}
        return Response({k: body[k] for k in ("from", "to", "step_s", "group_by", "series")})


class ReportView(ReadView):
    @extend_schema(
        operation_id="report",
        summary="One row of figures per group",
        tags=["read"],
        parameters=REPORT_PARAMETERS,
        responses=REPORT_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        query = _query(request, _COMMON | {"stability_interval"})
        return Response({**_envelope(query), "rows": report(query)})
