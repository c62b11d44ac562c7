"""Tables partitioned by UTC day: partitions made ahead of time, dropped after retention.

``raw_records`` is partitioned on ``ts_us`` (microseconds); the per-second rollup
tables on ``bucket`` (seconds). A raw partition is dropped only when it is older
than RAW_RETENTION_DAYS *and* every batch with records in it has been rolled up,
so no acknowledged record is lost before it is counted.
"""

from __future__ import annotations

from collections.abc import Callable
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


@dataclass(frozen=True)
class Partition:
    name: str
    day: date
    detach_pending: bool = False  # an interrupted DETACH ... CONCURRENTLY


class DailyPartitions:
    """One table partitioned by range of a time column, a partition per UTC day."""

    def __init__(self, table: str, units_per_day: int) -> None:
        self.table = table
        self.units_per_day = units_per_day  # 86,400,000,000 for microseconds, 86,400 for seconds

    def name(self, day: date) -> str:
        return f"{self.table}_p{day:%Y%m%d}"

    def start(self, day: date) -> int:
        return (day - _EPOCH).days * self.units_per_day

    def day_of(self, value: int) -> date:
        return _EPOCH + timedelta(days=value // self.units_per_day)

    def existing(self) -> list[Partition]:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.relname, i.inhdetachpending FROM pg_inherits i
                JOIN pg_class c ON c.oid = i.inhrelid
                JOIN pg_class p ON p.oid = i.inhparent
                WHERE p.relname = %s ORDER BY c.relname
                """,
                [self.table],
            )
            rows = cursor.fetchall()
        prefix = f"{self.table}_p"
        return [
            Partition(name, datetime.strptime(name[len(prefix) :], "%Y%m%d").date(), pending) for name, pending in rows
        ]

    def ensure(self, first: date, last: date) -> list[str]:
        """Create the missing daily partitions from ``first`` to ``last`` inclusive."""
        have = {p.day for p in self.existing()}
        missing = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        missing = [day for day in missing if day not in have]
        if not missing:
            return []
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DDL_LOCK_ID])
            for day in missing:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.name(day)} PARTITION OF {self.table} "
                    f"FOR VALUES FROM ({self.start(day)}) TO ({self.start(day + timedelta(days=1))})"
                )
        return [self.name(day) for day in missing]

    def ensure_for_range(self, low: int, high: int) -> list[str]:
        return self.ensure(self.day_of(low), self.day_of(high))

    def drop_older_than(
        self, oldest_kept: date, keep: Callable[[CursorWrapper, date], bool] = lambda cursor, day: False
    ) -> list[str]:
        """Drop partitions of days before ``oldest_kept`` unless ``keep`` says otherwise.

        Runs in autocommit (the beat task): ``DETACH ... CONCURRENTLY`` cannot run in a
        transaction. It never blocks writers: a plain DROP would need an exclusive lock
        on the parent table and queue every COPY behind the longest reader.
        """
        if connection.in_atomic_block:
            raise RuntimeError("dropping partitions detaches CONCURRENTLY: call it outside a transaction")
        dropped: list[str] = []
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_DROP_LOCK_ID])
            if not cursor.fetchone()[0]:
                return dropped  # another worker is at it
            try:
                for part in self.existing():
                    if part.day >= oldest_kept or keep(cursor, part.day):
                        continue
                    how = "FINALIZE" if part.detach_pending else "CONCURRENTLY"
                    # Waits for transactions still using the partition; none can start using it after.
                    cursor.execute(f"ALTER TABLE {self.table} DETACH PARTITION {part.name} {how}")
                    if keep(cursor, part.day):  # a writer was committing into it meanwhile
                        cursor.execute(
                            f"ALTER TABLE {self.table} ATTACH PARTITION {part.name} FOR VALUES "
                            f"FROM ({self.start(part.day)}) TO ({self.start(part.day + timedelta(days=1))})"
                        )
                        continue
                    cursor.execute(f"DROP TABLE {part.name}")
                    dropped.append(part.name)
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_DROP_LOCK_ID])
        return dropped


RAW_PARTITIONS = DailyPartitions(RAW_TABLE, US_PER_DAY)


def day_start_us(day: date) -> int:
    return RAW_PARTITIONS.start(day)


def day_of_us(ts_us: int) -> date:
    return RAW_PARTITIONS.day_of(ts_us)


def partition_name(day: date) -> str:
    return RAW_PARTITIONS.name(day)


def existing_partitions() -> list[Partition]:
    return RAW_PARTITIONS.existing()


def ensure_partitions(first: date, last: date) -> list[str]:
    return RAW_PARTITIONS.ensure(first, last)


def ensure_partitions_for_range(min_ts_us: int, max_ts_us: int) -> list[str]:
    return RAW_PARTITIONS.ensure_for_range(min_ts_us, max_ts_us)


def current_days(now: datetime | None, back_days: int) -> tuple[date, date]:
    """From ``back_days`` ago to RAW_PARTITIONS_AHEAD_DAYS ahead."""
    today = (now or datetime.now(UTC)).date()
    return today - timedelta(days=back_days), today + timedelta(days=settings.RAW_PARTITIONS_AHEAD_DAYS)


def ensure_current_partitions(now: datetime | None = None) -> list[str]:
    return RAW_PARTITIONS.ensure(*current_days(now, settings.RAW_RETENTION_DAYS))


def holds_uncounted_records(cursor: CursorWrapper, day: date) -> bool:
    """Whether a batch with records on ``day`` (UTC) is still waiting to be rolled up."""
    cursor.execute(
        """
        SELECT 1 FROM store_ingestbatch
        WHERE rolled_up_at IS NULL AND min_ts_us < %s AND max_ts_us >= %s LIMIT 1
        """,
        [day_start_us(day + timedelta(days=1)), day_start_us(day)],
    )
    return cursor.fetchone() is not None


def drop_expired_partitions(now: datetime | None = None) -> list[str]:
    """Drop raw partitions past retention whose batches have all been rolled up."""
    today = (now or datetime.now(UTC)).date()
    oldest_kept = today - timedelta(days=settings.RAW_RETENTION_DAYS)
    return RAW_PARTITIONS.drop_older_than(oldest_kept, keep=holds_uncounted_records)
