"""Django's own 404 and 500 answers, in the contract's JSON body for the API's paths.

A DRF view answers its errors itself (``errors.exception_handler``); these cover what
happens before or around one: a path that matches no endpoint, a failing middleware.
The web UI keeps Django's pages.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from .errors import INTERNAL_ERROR

API_PATHS = ("/api/", "/healthz", "/readyz")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATHS)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        error = f"There is no endpoint at {request.path!r}; /api/schema/ lists them."
        return JsonResponse({"error": error, "details": []}, status=404)
    return defaults.page_not_found(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"error": INTERNAL_ERROR, "details": []}, status=500)
    return defaults.server_error(request)
