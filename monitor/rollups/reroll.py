"""Rebuild the rollups of whole UTC days from the raw records, in place.

Each day is one transaction: its rollup rows (all levels whose buckets lie in the
day) are deleted and rebuilt from the raw rows of batches already counted, while
an exclusive lock holds the rollup workers off; batches still pending are counted
by the workers afterwards, on top. A day whose raw records are gone is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.db import connection, transaction

from monitor.store.partitions import RAW_PARTITIONS

from .claim import REROLL_LOCK_ID
from .compact import rebuild
from .levels import LEVELS, SECOND
from .retention import ensure_second_partitions_for, second_partition_days
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
    """Rebuild one day's rollups; returns the raw records read."""
    start = (day - date(1970, 1, 1)).days * DAY_S
    end = start + DAY_S
    ensure_second_partitions_for(day, day)
    records = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REROLL_LOCK_ID])
        in_day = "bucket >= %s AND bucket < %s"
        series_scope = group_scope = ""
        extra: list[int] = []
        if project_id is not None:
            series_scope = " AND series_id IN (SELECT id FROM catalogue_series WHERE project_id = %s)"
            group_scope = " AND project_id = %s"
            extra = [project_id]
        for level in LEVELS:
            cursor.execute(f"DELETE FROM {level.series_table} WHERE {in_day}{series_scope}", [start, end, *extra])
            if level is not SECOND:  # groups have no per-second rollups
                cursor.execute(f"DELETE FROM {level.group_table} WHERE {in_day}{group_scope}", [start, end, *extra])
        for chunk in range(start, end, CHUNK_S):
            cursor.execute(REROLL_SQL, {"low": chunk * US, "high": (chunk + CHUNK_S) * US, "project": project_id})
            records += cursor.fetchone()[0]
            if progress:
                progress(1)
        # The statement marked the minutes it wrote dirty; rebuild the whole day now, in
        # this transaction (the deleted minutes without records included).
        cursor.execute("DELETE FROM rollup_dirty WHERE minute >= %s AND minute < %s", [start, end])
        rebuild(cursor, list(range(start, end, 60)))
    return records
