"""The web UI. The dashboards themselves arrive with issue 4; this is the shell they live in."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from monitor.projects.models import Project


@login_required
def home(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)  # login_required
    projects = Project.objects.filter(memberships__user=request.user).order_by("slug")
    return render(request, "dashboards/home.html", {"projects": projects})
