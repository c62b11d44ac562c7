from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitor.projects.models import ApiKey, Project


class Command(BaseCommand):
    help = "Create an API key for a project and print it (alone, on stdout). It is shown only once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--scope", required=True, choices=[choice for choice, _ in ApiKey.Scope.choices])
        parser.add_argument("--name", default="", help="a note to recognise the key by")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            project = Project.objects.get(slug=options["slug"])
        except Project.DoesNotExist:
            raise CommandError(f"There is no project {options['slug']!r}.") from None
        _, plain = ApiKey.issue(project, options["scope"], options["name"])
        self.stdout.write(plain)
