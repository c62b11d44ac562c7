"""What every project page needs: the member check, the state, the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest
from django.urls import reverse

from monitor.annotations.queries import annotations_in
from monitor.catalogue.models import Series, Tier
from monitor.metrics.query import DIMENSIONS
from monitor.projects.models import Membership, Project

from .charts import plotly_time_s
from .state import RANGES, REFRESH_CHOICES, PageState, parse_state

# (url name, label); the SLO and Alerts pages come with the SLO work.
NAVIGATION = (
    ("overview", "Overview"),
    ("tiers", "Tier comparison"),
    ("compare", "Version A/B"),
    ("detail", "Tier detail"),
)
COMING = ("SLOs", "Alerts")


@dataclass(frozen=True)
class ProjectPage:
    request: HttpRequest
    project: Project
    state: PageState
    is_owner: bool

    @property
    def exporting(self) -> bool:
        """A CSV export: the builders skip what only the page shows (charts, tiles)."""
        return bool(self.request.GET.get("export"))

    def url(self, name: str, *args: Any, **overrides: Any) -> str:
        query = self.state.querystring(**overrides)
        return reverse(name, args=[self.project.slug, *args]) + (f"?{query}" if query else "")


def project_page(request: HttpRequest, slug: str) -> ProjectPage:
    """The project, if the logged-in user is a member (others get a 404, not a hint)."""
    user = request.user
    assert isinstance(user, User)  # the views are login_required
    membership = Membership.objects.select_related("project").filter(user=user, project__slug=slug).first()
    if membership is None:
        raise Http404("No such project")
    state = parse_state({name: request.GET.getlist(name) for name in request.GET})
    return ProjectPage(request, membership.project, state, membership.role == Membership.Role.OWNER)


def filter_options(project: Project) -> dict[str, list[str]]:
    """Every value each dimension has taken in this project (from the series dictionary)."""
    rows = Series.objects.filter(project=project).values_list("tier__name", "model__name", "service", "deployment")
    values: dict[str, set[str]] = {name: set() for name in DIMENSIONS}
    for row in rows:
        for name, value in zip(DIMENSIONS, row, strict=True):
            values[name].add(value)
    return {name: sorted(found) for name, found in values.items()}


def rated_qps(project: Project) -> dict[str, float | None]:
    return dict(Tier.objects.filter(project=project).values_list("name", "rated_qps"))


def annotation_marks(page: ProjectPage) -> list[dict[str, Any]]:
    """The window's annotations as the charts draw them, each linking to its before/after."""
    marks = []
    # Through the current second too: a note added a moment ago shows on the redirect.
    for note in annotations_in(page.project.pk, page.state.start, page.state.end + 1):
        marks.append(
            {
                "id": note.pk,
                "t": plotly_time_s(note.time.timestamp()),
                "text": note.text,
                "filter": note.filter,
                "href": page.url("compare", annotation=str(note.pk)),
            }
        )
    return marks


def base_context(page: ProjectPage, active: str) -> dict[str, Any]:
    user = page.request.user
    assert isinstance(user, User)
    projects = Project.objects.filter(memberships__user=user).order_by("slug")
    options = filter_options(page.project)
    return {
        "project": page.project,
        "projects": projects,
        "page": page,
        "state": page.state,
        "active": active,
        "navigation": [(name, label, page.url(name)) for name, label in NAVIGATION],
        "coming": COMING,
        "ranges": RANGES,
        "refresh_choices": REFRESH_CHOICES[1:],
        "filters": [(name, options[name], page.state.filters.get(name, ())) for name in DIMENSIONS],
        "annotations": annotation_marks(page),
        "is_owner": page.is_owner,
    }
