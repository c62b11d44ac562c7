"""Claim one project's pending ingest batches and roll them up, exactly once.

The batches are the outbox: claimed with ``FOR UPDATE SKIP LOCKED``, rolled up and
marked in the same transaction. A worker that dies, a retried task, a database
restart: each leaves the batch either counted and marked, or neither, so every
acknowledged record is counted exactly once, whatever the number of workers.

A claim takes one project's batches only (``schedule.py`` decides which project is
next), its live ones (records from the last few minutes) before its history, so
claims shard by project, as they would on a distributed PostgreSQL, and one
project's backlog is never in another's way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
from django.db import DataError, OperationalError, connection, transaction

from .locks import REROLL_LOCK
from .retention import SECOND_PARTITIONS, ensure_second_partitions_for
from .statement import MARK_SQL, ROLLUP_SQL

log = logging.getLogger(__name__)

# A claim this size keeps each transaction short (about a second for sparse history)
# while amortising the statement's fixed cost.
MAX_BATCHES = 64
MAX_RECORDS = 50_000
# The rollup statement runs on psycopg's own cursor, whose errors Django does not wrap.
DATA_ERRORS = (DataError, psycopg.DataError)
TRANSIENT_ERRORS = (OperationalError, psycopg.OperationalError)


def pending(alias: str = "") -> str:
    """SQL true for a batch still to be counted (and not set aside)."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}rolled_up_at IS NULL AND {prefix}rollup_error IS NULL"


PENDING = pending()


@dataclass(frozen=True)
class Claimed:
    batches: int
    records: int
    calls: int
    set_aside: int = 0  # batches found unable to be rolled up (see set_aside_failing_batch)

    def __add__(self, other: Claimed) -> Claimed:
        return Claimed(
            self.batches + other.batches,
            self.records + other.records,
            self.calls + other.calls,
            self.set_aside + other.set_aside,
        )

    @property
    def progressed(self) -> bool:
        return bool(self.batches or self.set_aside)


NOTHING = Claimed(0, 0, 0)
Row = tuple[int, int, int, int]  # id, records, min_ts_us, max_ts_us


def roll_up_project(
    project_id: int, live: bool, max_batches: int = MAX_BATCHES, max_records: int = MAX_RECORDS
) -> Claimed:
    """Roll up the project's oldest pending live (or history) batches nobody else holds."""
    with transaction.atomic(), connection.cursor() as cursor:
        rows = _claim(cursor, project_id, live, max_batches)
        chosen: list[Row] = []
        total = 0
        for row in rows:
            if chosen and total + row[1] > max_records:
                break
            chosen.append(row)
            total += row[1]
        if not chosen:
            return NOTHING
        return _roll_up_claimed(project_id, chosen)


def _claim(cursor: Any, project_id: int, live: bool, max_batches: int) -> list[Row]:
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [REROLL_LOCK, project_id])
    # Room to keep a claim's rows and hash tables in memory, not in temp files.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute(
        f"SELECT id, records, min_ts_us, max_ts_us FROM store_ingestbatch WHERE live = %s AND project_id = %s "
        f"AND {PENDING} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        [live, project_id, max_batches],
    )
    return list(cursor.fetchall())


def _roll_up_claimed(project_id: int, chosen: list[Row]) -> Claimed:
    ids = [row[0] for row in chosen]
    low, high = min(row[2] for row in chosen), max(row[3] for row in chosen)
    _ensure_second_partitions(low // 1_000_000, high // 1_000_000)
    with psycopg.Cursor(connection.connection) as cursor:
        records, calls, minutes = _execute_prepared(cursor, ROLLUP_SQL, {"batches": ids, "low": low, "high": high})
        cursor.execute("UPDATE store_ingestbatch SET rolled_up_at = now() WHERE id = ANY(%s)", [ids])
        # Last, so the marks' row locks are held only until the commit (see statement.py).
        cursor.execute(MARK_SQL, {"project": project_id, "minutes": minutes}, prepare=True)
    return Claimed(len(ids), records, calls)


def _execute_prepared(cursor: psycopg.Cursor[Any], sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """Run the rollup statement as a server-side prepared statement.

    Planning its CTEs costs milliseconds, as much as rolling up a thousand records:
    prepared once per connection, it is planned once. Django's cursors bind
    parameters client-side, which cannot prepare, so this uses psycopg's own cursor
    on Django's connection (and so inside its transaction).
    """
    cursor.execute(sql, params, prepare=True)
    row = cursor.fetchone()
    assert row is not None
    return tuple(row)


_known_days: set[date] = set()


def _ensure_second_partitions(low_s: int, high_s: int) -> None:
    """Late records can land on a day whose per-second partitions are not made yet."""
    first, last = SECOND_PARTITIONS[0].day_of(low_s), SECOND_PARTITIONS[0].day_of(high_s)
    # Every day between too: a backfill's claim spans a month, and its first and last
    # days may be known from claims that did not make the days in between.
    days = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    if days <= _known_days:
        return
    ensure_second_partitions_for(first, last)
    # Only once the claim commits: a rolled-back claim takes the new partitions with it.
    transaction.on_commit(lambda: _known_days.update(days))


def set_aside_failing_batch(project_id: int, live: bool, first_error: Exception) -> int | None:
    """Roll up the project's batches one at a time until the one that fails; mark it and return its id."""
    for _ in range(MAX_BATCHES):
        with transaction.atomic(), connection.cursor() as cursor:
            rows = _claim(cursor, project_id, live, 1)
            if not rows:
                break
            try:
                with transaction.atomic():  # a savepoint: the failure leaves the claim held
                    _roll_up_claimed(project_id, rows)
                continue
            except DATA_ERRORS as exc:
                reason = str(exc)
                cursor.execute("UPDATE store_ingestbatch SET rollup_error = %s WHERE id = %s", [reason, rows[0][0]])
        log.error("batch %s set aside: it cannot be rolled up (%s)", rows[0][0], reason)
        return int(rows[0][0])
    log.error("rollup failed (%s) and no single batch could be blamed", first_error)
    return None
