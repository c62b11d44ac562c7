"""Daily partitions of ``raw_records``: made ahead of time, dropped after retention.

A partition covers one UTC day of ``ts_us``. It is dropped only when it is older
than RAW_RETENTION_DAYS *and* every batch with records in it has been rolled up,
so no acknowledged record is lost before it is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from .raw import RAW_TABLE

US_PER_DAY = 86_400 * 1_000_000
_EPOCH = date(1970, 1, 1)
# Serialises partition DDL between web processes and workers.
_DDL_LOCK_ID = 0x7477_7061_7274  # "twpart"


def day_start_us(day: date) -> int:
    return (day - _EPOCH).days * US_PER_DAY


def day_of_us(ts_us: int) -> date:
    return _EPOCH + timedelta(days=ts_us // US_PER_DAY)


def partition_name(day: date) -> str:
    return f"{RAW_TABLE}_p{day:%Y%m%d}"


@dataclass(frozen=True)
class Partition:
    name: str
    day: date


def existing_partitions() -> list[Partition]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s ORDER BY c.relname
            """,
            [RAW_TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{RAW_TABLE}_p"
    return [Partition(n, datetime.strptime(n[len(prefix) :], "%Y%m%d").date()) for n in names]


def ensure_partitions(first: date, last: date) -> list[str]:
    """Create the missing daily partitions from ``first`` to ``last`` inclusive."""
    have = {p.day for p in existing_partitions()}
    wanted = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    missing = [day for day in wanted if day not in have]
    if not missing:
        return []
    created: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DDL_LOCK_ID])
        for day in missing:
            name = partition_name(day)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {RAW_TABLE} "
                f"FOR VALUES FROM ({day_start_us(day)}) TO ({day_start_us(day + timedelta(days=1))})"
            )
            created.append(name)
    return created


def ensure_partitions_for_range(min_ts_us: int, max_ts_us: int) -> list[str]:
    return ensure_partitions(day_of_us(min_ts_us), day_of_us(max_ts_us))


def ensure_current_partitions(now: datetime | None = None) -> list[str]:
    today = (now or datetime.now(UTC)).date()
    return ensure_partitions(
        today - timedelta(days=settings.RAW_RETENTION_DAYS),
        today + timedelta(days=settings.RAW_PARTITIONS_AHEAD_DAYS),
    )


def drop_expired_partitions(now: datetime | None = None) -> list[str]:
    """Drop partitions past retention whose batches have all been rolled up."""
    today = (now or datetime.now(UTC)).date()
    oldest_kept = today - timedelta(days=settings.RAW_RETENTION_DAYS)
    dropped: list[str] = []
    for part in existing_partitions():
        if part.day >= oldest_kept:
            continue
        start, end = day_start_us(part.day), day_start_us(part.day + timedelta(days=1))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DDL_LOCK_ID])
            # Wait out any ingest still writing into it, so its batch is visible below.
            cursor.execute(f"LOCK TABLE {part.name} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(
                """
                SELECT 1 FROM store_ingestbatch
                WHERE rolled_up_at IS NULL AND min_ts_us < %s AND max_ts_us >= %s LIMIT 1
                """,
                [end, start],
            )
            if cursor.fetchone():
                continue  # still holds records that are not counted yet
            cursor.execute(f"DROP TABLE IF EXISTS {part.name}")
            dropped.append(part.name)
    return dropped
