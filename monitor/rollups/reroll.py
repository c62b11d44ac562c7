"""Rebuild the rollups of whole UTC days from the raw records, in place.

Each day is one transaction: its rollup rows (all levels whose buckets lie in the
day) are deleted and rebuilt from the raw rows of batches already counted, one
project at a time, while an exclusive lock holds that project's rollup workers off;
batches still pending are counted by the workers afterwards, on top. A day whose raw records are gone is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.db import connection, transaction

from monitor.projects.models import Project
from monitor.store.partitions import RAW_PARTITIONS

from .levels import DAY, HOUR, LEVELS, MINUTE, SECOND
from .locks import REROLL_LOCK
from .rebuild import rebuild
from .retention import ensure_second_partitions_for, second_partition_days
from .stale import STALE_TABLE
from .statement import REROLL_SQL

US = 1_000_000
DAY_S = 86_400
# Within a day the rebuild goes an hour at a time, so progress shows and no statement is huge.
CHUNK_S = 3_600


class RerollRefused(Exception):
    pass


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _listed(days: list[date]) -> str:
    return ", ".join(f"{day:%Y-%m-%d}" for day in days[:5]) + (" …" if len(days) > 5 else "")


def check_raw_present(days: list[date]) -> None:
    """Refuse days whose raw records are gone, or whose per-second rollups are (the day's
    minutes are rebuilt from its seconds, every project's)."""
    have = {p.day for p in RAW_PARTITIONS.existing() if not p.detach_pending}
    gone = [day for day in days if day not in have]
    if gone:
        raise RerollRefused(
            f"The raw records of {_listed(gone)} are gone (past RAW_RETENTION_DAYS): those days cannot be re-rolled."
        )
    seconds = second_partition_days()
    gone = [day for day in days if day not in seconds]
    if gone:
        raise RerollRefused(
            f"The per-second rollups of {_listed(gone)} are gone (past FINE_RETENTION_DAYS): "
            "those days cannot be re-rolled."
        )


def reroll_day(day: date, project_id: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild one day's rollups of a project (or of every project in turn); returns the raw records read."""
    if project_id is None:
        projects = list(Project.objects.order_by("pk").values_list("pk", flat=True))
        records = 0
        for n, pk in enumerate(projects):
            # The progress bar moves by hours of the day, over all projects.
            records += reroll_day(day, pk, progress if n == len(projects) - 1 else None)
        if not projects and progress:
            progress(DAY_S // CHUNK_S)
        return records
    start = (day - date(1970, 1, 1)).days * DAY_S
    end = start + DAY_S
    ensure_second_partitions_for(day, day)
    records = 0
    with transaction.atomic(), connection.cursor() as cursor:
        # The project's rollups and compactions wait meanwhile; other projects' go on.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REROLL_LOCK, project_id])
        in_day = "bucket >= %s AND bucket < %s"
        series = " AND series_id IN (SELECT id FROM catalogue_series WHERE project_id = %s)"
        for level in LEVELS:
            cursor.execute(f"DELETE FROM {level.series_table} WHERE {in_day}{series}", [start, end, project_id])
            if level is not SECOND:  # groups have no per-second rollups
                cursor.execute(
                    f"DELETE FROM {level.group_table} WHERE {in_day} AND project_id = %s", [start, end, project_id]
                )
        for chunk in range(start, end, CHUNK_S):
            cursor.execute(REROLL_SQL, {"low": chunk * US, "high": (chunk + CHUNK_S) * US, "project": project_id})
            records += cursor.fetchone()[0]
            if progress:
                progress(1)
        # Rebuild the whole day now, in this transaction (minutes without records included),
        # and drop its marks: nothing of the day is stale once this commits.
        cursor.execute(
            f"DELETE FROM {STALE_TABLE} WHERE project_id = %s AND bucket >= %s AND bucket < %s",
            [project_id, start, end],
        )
        rebuild(cursor, project_id, MINUTE, list(range(start, end, MINUTE.seconds)))
        rebuild(cursor, project_id, HOUR, list(range(start, end, HOUR.seconds)))
        rebuild(cursor, project_id, DAY, [start])
    return records
