"""`make run`'s demo set-up: it spans projects, the catalogue and annotations, so it lives
above them all, with the pages whose charts it prepares."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from monitor.annotations.models import Annotation
from monitor.catalogue.services import deprecate_demo_model
from monitor.projects.models import ApiKey, Membership, Project
from monitor.projects.services import create_project


def _secret_file(path: Path, make: Any) -> str:
    if path.exists():
        return path.read_text().strip()
    value = str(make())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


class Command(BaseCommand):
    help = "Create (once) the demo user, the demo project and an ingest key for the demo generator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--secrets-dir", required=True, help="where the demo password and key are kept (var/)")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["secrets_dir"])
        users = get_user_model()
        password = os.environ.get("DEMO_PASSWORD") or _secret_file(
            folder / "demo-password", lambda: secrets.token_urlsafe(12)
        )
        user, created = users.objects.get_or_create(username="demo")
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        project = Project.objects.filter(slug="demo").first() or create_project("demo", "demo", "Demo")
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Membership.Role.OWNER})
        deprecate_demo_model(project)
        if not Annotation.objects.filter(project=project).exists():
            # So the demo's charts show an annotation and its before/after from the start.
            Annotation.objects.create(
                project=project, time=timezone.now(), text="Demo traffic started", created_by=user
            )
        key_file = folder / "demo-ingest-key"
        key = key_file.read_text().strip() if key_file.exists() else ""
        if not key or not ApiKey.objects.filter(prefix=key[3:11], revoked_at__isnull=True).exists():
            _, key = ApiKey.issue(project, ApiKey.Scope.INGEST, "demo generator")
            key_file.unlink(missing_ok=True)
            _secret_file(key_file, lambda: key)
        self.stdout.write(f"demo user: demo / {password}")
