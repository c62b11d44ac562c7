"""``POST /api/v1/records``: the ingest endpoint."""

from __future__ import annotations

import re
from typing import cast

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitor.api.auth import ApiKeyAuthentication, IngestScope
from monitor.api.errors import ApiError
from monitor.api.keys import KeyPrincipal

from .backlog import check_backlog
from .body import read_body
from .openapi import BATCH_SCHEMA, INGEST_EXAMPLES, INGEST_PARAMETERS, INGEST_RESPONSES, IngestSchema
from .ratelimit import admit
from .validate import BatchRejected, TimeWindow, validate_batch
from .writer import StoreResult, committed_duplicate, store_batch

_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,200}")


def _idempotency_key(request: Request) -> str | None:
    raw = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if raw is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(raw):
        raise ApiError(
            400,
            "Idempotency-Key must be 1 to 200 printable characters.",
            [{"index": None, "field": "Idempotency-Key", "message": "must be 1 to 200 printable characters"}],
        )
    return str(raw)


def _answer(result: StoreResult) -> Response:
    if result.duplicate:
        return Response({"accepted": result.accepted, "duplicate": True}, status=200)
    return Response({"accepted": result.accepted}, status=202)


class RecordsView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IngestScope]
    parser_classes: list[type] = []  # the body is read and decoded by the ingest path itself
    schema = IngestSchema()

    @extend_schema(
        operation_id="ingest_records",
        summary="Post per-call records or window summaries",
        tags=["ingest"],
        request={"application/json": BATCH_SCHEMA},
        responses=INGEST_RESPONSES,
        parameters=INGEST_PARAMETERS,
        examples=INGEST_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        principal = cast(KeyPrincipal, request.user)
        key = _idempotency_key(request)
        body = read_body(request._request)
        if key is not None:
            duplicate = committed_duplicate(principal.project_id, key)
            if duplicate is not None:
                return _answer(duplicate)
        check_backlog()
        window = TimeWindow.around(timezone.now(), settings.RAW_RETENTION_DAYS)
        try:
            batch = validate_batch(body, window)
            admit(principal.key_id, len(batch.records))
            result = store_batch(principal.project_id, batch, key)
        except BatchRejected as exc:
            raise ApiError(exc.status, exc.error, exc.details) from None
        return _answer(result)
