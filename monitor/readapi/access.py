"""Which project a read request is about: the key's own, or one of the session user's."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from monitor.api.errors import ApiError
from monitor.api.keys import KeyPrincipal
from monitor.projects.models import Project


class CanRead(BasePermission):
    """A key with the read or admin scope, or a logged-in user."""

    message = "This API key cannot read: it needs the 'read' or 'admin' scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, KeyPrincipal):
            return user.has_scope("read", "admin")
        return bool(user and user.is_authenticated)


def _not_found(slug: str) -> ApiError:
    return ApiError(
        404,
        f"No project {slug!r} that you can read.",
        [{"field": "project", "message": "is not a project you can read"}],
    )


def project_for(request: Request) -> int:
    """The project id to read; a key reads its own project only."""
    slug = request.query_params.get("project")
    user = request.user
    if isinstance(user, KeyPrincipal):
        if slug is not None and not Project.objects.filter(pk=user.project_id, slug=slug).exists():
            raise _not_found(slug)
        return user.project_id
    assert isinstance(user, User)
    mine = Project.objects.filter(memberships__user=user)
    if slug is not None:
        project = mine.filter(slug=slug).first()
        if project is None:
            raise _not_found(slug)
        return project.pk
    ids = list(mine.values_list("pk", flat=True)[:2])
    if not ids:
        raise ApiError(404, "You are not a member of any project.")
    if len(ids) > 1:
        raise ApiError(
            400,
            "You are a member of several projects: choose one with project=<slug>.",
            [{"field": "project", "message": "is required when you belong to several projects"}],
        )
    return ids[0]
