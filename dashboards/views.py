"""The web UI: project pages built from the metrics engine, the same one the API uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from monitor.annotations.serializers import AnnotationSerializer
from monitor.api.errors import describe, field_details
from monitor.api.params import ParamError
from monitor.metrics.query import DIMENSIONS
from monitor.projects.models import Project

from .charts import figures_json
from .common import ProjectPage, base_context, project_page
from .pages.compare import compare
from .pages.detail import detail
from .pages.overview import overview
from .pages.tiers import tiers
from .state import parse_input_time
from .tables import Table, csv_response

Builder = Callable[[ProjectPage], dict[str, Any]]
PAGES: dict[str, tuple[Builder, str]] = {
    "overview": (overview, "dashboards/overview.html"),
    "tiers": (tiers, "dashboards/tiers.html"),
    "compare": (compare, "dashboards/compare.html"),
    "detail": (detail, "dashboards/detail.html"),
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)  # login_required
    projects = Project.objects.filter(memberships__user=request.user).order_by("slug")
    return render(request, "dashboards/home.html", {"projects": projects})


def _tables(data: dict[str, Any]) -> list[Table]:
    return [*data.get("tables", []), *([data["table"]] if data.get("table") else [])]


def _page_view(name: str) -> Callable[[HttpRequest, str], HttpResponse]:
    builder, template = PAGES[name]

    @login_required
    def view(request: HttpRequest, slug: str) -> HttpResponse:
        page = project_page(request, slug)
        data = builder(page)
        export = request.GET.get("export")
        if export:
            table = next((t for t in _tables(data) if t.key == export), None)
            if table is None:
                raise Http404(f"No table {export!r} on this page")
            return csv_response(table, f"{page.project.slug}-{name}-{export}")
        tables = _tables(data)
        for table in tables:
            params = request.GET.copy()
            for param, value in page.state.pinned().items():  # the CSV is of the window on screen
                params[param] = value
            params["export"] = table.key
            table.export_href = f"?{params.urlencode()}"
        context = {**base_context(page, name), **data, "all_tables": tables}
        context["charts_json"] = figures_json(data.get("charts") or {})
        return render(request, template, context)

    view.__name__ = name
    return view


overview_view = _page_view("overview")
tiers_view = _page_view("tiers")
compare_view = _page_view("compare")
detail_view = _page_view("detail")


@login_required
@require_POST
def add_annotation(request: HttpRequest, slug: str) -> HttpResponse:
    """The UI's annotation form; like the API, only owners write."""
    page = project_page(request, slug)
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = page.url("overview")
    if not page.is_owner:
        messages.error(request, "Only the project's owners can add annotations.")
        return HttpResponseRedirect(back)
    raw_time = request.POST.get("time", "").strip()
    try:
        at = parse_input_time("time", raw_time) if raw_time else time.time()
    except ParamError as exc:
        messages.error(request, f"Annotation not added: {exc}.")
        return HttpResponseRedirect(back)
    scope = {name: [v] for name in DIMENSIONS if (v := request.POST.get(name, "").strip())}
    note = AnnotationSerializer(data={"time": at, "text": request.POST.get("text", ""), "filter": scope})
    if not note.is_valid():
        messages.error(request, f"Annotation not added: {describe(field_details(note.errors))}.")
        return HttpResponseRedirect(back)
    assert isinstance(request.user, User)
    note.save(project=page.project, created_by=request.user)
    messages.success(request, f"Annotation “{note.validated_data['text']}” added.")
    return HttpResponseRedirect(back)
