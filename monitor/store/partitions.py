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
from django.db.backends.utils import CursorWrapper

from .raw import RAW_TABLE

US_PER_DAY = 86_400 * 1_000_000
_EPOCH = date(1970, 1, 1)
# Serialises partition DDL between web processes and workers.
_DDL_LOCK_ID = 0x7477_7061_7274  # "twpart"
_DROP_LOCK_ID = 0x7477_6472_6F70  # "twdrop"


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
    detach_pending: bool = False  # an interrupted DETACH ... CONCURRENTLY


def existing_partitions() -> list[Partition]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, i.inhdetachpending FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s ORDER BY c.relname
            """,
            [RAW_TABLE],
        )
        rows = cursor.fetchall()
    prefix = f"{RAW_TABLE}_p"
    return [Partition(name, datetime.strptime(name[len(prefix) :], "%Y%m%d").date(), pending) for name, pending in rows]


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


def _holds_uncounted_records(cursor: CursorWrapper, day: date) -> bool:
    cursor.execute(
        """
        SELECT 1 FROM store_ingestbatch
        WHERE rolled_up_at IS NULL AND min_ts_us < %s AND max_ts_us >= %s LIMIT 1
        """,
        [day_start_us(day + timedelta(days=1)), day_start_us(day)],
    )
    return cursor.fetchone() is not None


def drop_expired_partitions(now: datetime | None = None) -> list[str]:
    """Drop partitions past retention whose batches have all been rolled up.

    Runs in autocommit (the beat task): ``DETACH ... CONCURRENTLY`` cannot run in a
    transaction. It never blocks ingest: a plain DROP would need an exclusive lock on
    ``raw_records`` itself and queue every COPY behind the longest reader.
    """
    if connection.in_atomic_block:
        raise RuntimeError("drop_expired_partitions detaches CONCURRENTLY: call it outside a transaction")
    today = (now or datetime.now(UTC)).date()
    oldest_kept = today - timedelta(days=settings.RAW_RETENTION_DAYS)
    dropped: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_DROP_LOCK_ID])
        if not cursor.fetchone()[0]:
            return dropped  # another worker is at it
        try:
            for part in existing_partitions():
                if part.day >= oldest_kept or _holds_uncounted_records(cursor, part.day):
                    continue
                how = "FINALIZE" if part.detach_pending else "CONCURRENTLY"
                # Waits for transactions still using the partition; none can start using it after.
                cursor.execute(f"ALTER TABLE {RAW_TABLE} DETACH PARTITION {part.name} {how}")
                if _holds_uncounted_records(cursor, part.day):  # an ingest was committing into it
                    start, end = day_start_us(part.day), day_start_us(part.day + timedelta(days=1))
                    cursor.execute(
                        f"ALTER TABLE {RAW_TABLE} ATTACH PARTITION {part.name} FOR VALUES FROM ({start}) TO ({end})"
                    )
                    continue
                cursor.execute(f"DROP TABLE {part.name}")
                dropped.append(part.name)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_DROP_LOCK_ID])
    return dropped
