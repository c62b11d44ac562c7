"""Who may call an endpoint, and which project a request is about: the key's own, or one of the session user's.

Shared by every endpoint that reads or manages a project's data (the read API, annotations,
and the SLO, channel and alert endpoints to come).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from monitor.projects.models import Membership, Project

from .errors import ApiError
from .keys import KeyPrincipal

# What a SlugField holds; anything else (a NUL byte, say) names no project, without asking the database.
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


class CanRead(BasePermission):
    """A key with the read or admin scope, or a logged-in user."""

    message = "This API key cannot read: it needs the 'read' or 'admin' scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, KeyPrincipal):
            return user.has_scope("read", "admin")
        return bool(user and user.is_authenticated)


class CanReadOrManage(BasePermission):
    """Reading as CanRead. Writing: a key with the admin scope, or a logged-in user, who must own
    the project (``project_to_manage`` checks that once the project is known)."""

    manage_message = "This API key cannot make changes: it needs the 'admin' scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            self.message = CanRead.message
            return CanRead().has_permission(request, view)
        self.message = self.manage_message
        user = request.user
        if isinstance(user, KeyPrincipal):
            return user.has_scope("admin")
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
    if slug is not None and not _SLUG.fullmatch(slug):
        raise _not_found(slug)
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


def project_to_manage(request: Request, action: str) -> int:
    """The project id to change: an admin key's own, or one the logged-in user owns.

    ``action`` completes the 403's sentence: "Only the project's owner (or an admin key) can <action>."
    """
    project_id = project_for(request)
    user = request.user
    if isinstance(user, User):
        is_owner = Membership.objects.filter(project_id=project_id, user=user, role=Membership.Role.OWNER).exists()
        if not is_owner:
            raise ApiError(403, f"Only the project's owner (or an admin key) can {action}.")
    return project_id
