from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitor.projects.models import KEY_PREFIX_LENGTH, ApiKey


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (the 8 characters after 'tw_'); it stops working within seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="the key's prefix, with or without 'tw_', or the whole key")

    def handle(self, *args: Any, **options: Any) -> None:
        raw: str = options["prefix"]
        prefix = raw[3:] if raw.startswith("tw_") else raw
        prefix = prefix[:KEY_PREFIX_LENGTH]
        try:
            key = ApiKey.objects.get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise CommandError(f"There is no API key with the prefix {prefix!r}.") from None
        if key.revoked_at is not None:
            self.stdout.write(f"Key tw_{prefix} was already revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC.")
            return
        key.revoke()
        self.stdout.write(f"Revoked key tw_{prefix} ({key.scope}, project {key.project.slug}).")
