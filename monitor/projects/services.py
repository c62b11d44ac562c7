"""Project operations shared by the management commands, the admin and the demo set-up."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from .models import Membership, Project


class ProjectError(Exception):
    pass


def create_project(slug: str, owner_username: str | None = None, name: str = "") -> Project:
    """A new project (seeded with the seed tiers and prices), optionally with its owner."""
    try:
        validate_slug(slug)
    except ValidationError:
        raise ProjectError(f"{slug!r} is not a valid slug: use letters, digits, '-' and '_'.") from None
    owner: User | None = None
    if owner_username is not None:
        try:
            owner = User.objects.get(username=owner_username)
        except User.DoesNotExist:
            raise ProjectError(f"There is no user {owner_username!r}.") from None
    with transaction.atomic():
        if Project.objects.filter(slug=slug).exists():
            raise ProjectError(f"A project with the slug {slug!r} already exists.")
        project = Project.objects.create(slug=slug, name=name or slug)
        if owner is not None:
            Membership.objects.create(project=project, user=owner, role=Membership.Role.OWNER)
    return project
