"""The per-second rollup tables are partitioned by day and kept FINE_RETENTION_DAYS."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.backends.utils import CursorWrapper

from monitor.store.partitions import DailyPartitions, current_days, holds_uncounted_records

from .levels import SECOND
from .stale import STALE_TABLE

SECOND_PARTITIONS = (DailyPartitions(SECOND.series_table, 86_400),)


def ensure_second_partitions(now: datetime | None = None) -> list[str]:
    first, last = current_days(now, settings.FINE_RETENTION_DAYS)
    return [name for table in SECOND_PARTITIONS for name in table.ensure(first, last)]


def ensure_second_partitions_for(first: date, last: date) -> list[str]:
    return [name for table in SECOND_PARTITIONS for name in table.ensure(first, last)]


def holds_minutes_to_rebuild(cursor: CursorWrapper, day: date) -> bool:
    """Whether a minute of ``day`` (UTC) is marked dirty: its rebuild reads that day's seconds."""
    start = SECOND_PARTITIONS[0].start(day)
    # Any project's: no index leads with the bucket, but marks are few (a compacted day has none).
    cursor.execute(
        f"SELECT 1 FROM {STALE_TABLE} WHERE level_s = 60 AND bucket >= %s AND bucket < %s LIMIT 1",
        [start, start + 86_400],
    )
    return cursor.fetchone() is not None


def still_needed(cursor: CursorWrapper, day: date) -> bool:
    return holds_uncounted_records(cursor, day) or holds_minutes_to_rebuild(cursor, day)


def drop_expired_second_partitions(now: datetime | None = None) -> list[str]:
    """Drop per-second partitions past FINE_RETENTION_DAYS, but never a day that still has
    batches to roll up or minutes to rebuild: those minutes are rebuilt from that day's
    seconds, all of them (late records, or a compactor that was down for days)."""
    oldest_kept = (now or datetime.now(UTC)).date() - timedelta(days=settings.FINE_RETENTION_DAYS)
    return [name for table in SECOND_PARTITIONS for name in table.drop_older_than(oldest_kept, keep=still_needed)]


def second_partition_days() -> set[date]:
    return {p.day for p in SECOND_PARTITIONS[0].existing() if not p.detach_pending}
