from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitor.projects.services import ProjectError, create_project


class Command(BaseCommand):
    help = "Create a project, seeded with the o3 / 4o / o4-mini tiers and their prices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--owner", help="username of the project's owner")
        parser.add_argument("--name", default="", help="display name (default: the slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            project = create_project(options["slug"], options["owner"], options["name"])
        except ProjectError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created project {project.slug}.")
