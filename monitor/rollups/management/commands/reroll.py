from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from monitor.projects.models import Project
from monitor.rollups.reroll import CHUNK_S, DAY_S, RerollRefused, check_raw_present, days_between, reroll_day
from monitor.timeutil import parse_time


class Command(BaseCommand):
    help = (
        "Rebuild the rollups of a time range from the raw records (whole UTC days), e.g. after changing "
        "prices or fixing data. Refuses a range whose raw records are gone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="Unix seconds or RFC 3339")
        parser.add_argument("--to", dest="end", required=True, help="Unix seconds or RFC 3339 (exclusive)")
        parser.add_argument("--project", help="only this project's rollups (default: every project)")

    def handle(self, *args: Any, **options: Any) -> None:
        times = {}
        for name, key in (("from", "start"), ("to", "end")):
            try:
                times[name] = parse_time(options[key])
            except ValueError as exc:
                raise CommandError(f"--{name} {exc}.") from None
        start, end = times["from"], times["to"]
        if start >= end:
            raise CommandError("--from must be before --to.")
        project_id = None
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(f"There is no project {options['project']!r}.")
            project_id = project.pk
        first = datetime.fromtimestamp(start, UTC).date()
        last = datetime.fromtimestamp(end - 1e-6, UTC).date()
        days = days_between(first, last)
        try:
            check_raw_present(days)
        except RerollRefused as exc:
            raise CommandError(str(exc)) from None
        records = 0
        with tqdm(total=len(days) * DAY_S // CHUNK_S, unit="h", desc="re-rolling", file=self.stderr) as bar:
            for day in days:
                records += reroll_day(day, project_id, progress=bar.update)
        self.stdout.write(f"Re-rolled {len(days)} day(s), {records:,} raw records, {first} to {last} (UTC).")
