"""Claim pending ingest batches and roll them up, exactly once.

The batches are the outbox: claimed with ``FOR UPDATE SKIP LOCKED``, rolled up and
marked in the same transaction. A worker that dies, a retried task, a database
restart: each leaves the batch either counted and marked, or neither, so every
acknowledged record is counted exactly once, whatever the number of workers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import DataError, OperationalError, connection, transaction

from .retention import SECOND_PARTITIONS, ensure_second_partitions_for
from .statement import ROLLUP_SQL

log = logging.getLogger(__name__)

# A claim this size keeps each transaction short (well under a second) while
# amortising the statement's fixed cost.
MAX_BATCHES = 64
MAX_RECORDS = 50_000
# Re-rolling a range takes this lock exclusively; rollups take it shared.
REROLL_LOCK_ID = 0x7477_726F_6C6C  # "twroll"
# The rollup statement runs on psycopg's own cursor, whose errors Django does not wrap.
DATA_ERRORS = (DataError, psycopg.DataError)
TRANSIENT_ERRORS = (OperationalError, psycopg.OperationalError)


@dataclass(frozen=True)
class Claimed:
    batches: int
    records: int
    calls: int


_PENDING = "rolled_up_at IS NULL AND rollup_error IS NULL"


def roll_up_once(max_batches: int = MAX_BATCHES, max_records: int = MAX_RECORDS) -> Claimed:
    """Roll up the oldest pending batches nobody else holds; nothing to do gives zeros."""
    with transaction.atomic(), connection.cursor() as cursor:
        rows = _claim(cursor, max_batches)
        chosen: list[tuple[int, int, int, int]] = []
        total = 0
        for row in rows:
            if chosen and total + row[1] > max_records:
                break
            chosen.append(row)
            total += row[1]
        if not chosen:
            return Claimed(0, 0, 0)
        return _roll_up_claimed(cursor, chosen)


def _claim(cursor: Any, max_batches: int) -> list[tuple[int, int, int, int]]:
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [REROLL_LOCK_ID])
    # Room to keep a claim's rows and hash tables in memory, not in temp files.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute(
        f"SELECT id, records, min_ts_us, max_ts_us FROM store_ingestbatch WHERE {_PENDING} "
        "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        [max_batches],
    )
    return list(cursor.fetchall())


def _roll_up_claimed(cursor: Any, chosen: list[tuple[int, int, int, int]]) -> Claimed:
    ids = [row[0] for row in chosen]
    low, high = min(row[2] for row in chosen), max(row[3] for row in chosen)
    _ensure_second_partitions(low // 1_000_000, high // 1_000_000)
    records, calls = _execute_prepared(ROLLUP_SQL, {"batches": ids, "low": low, "high": high})
    cursor.execute("UPDATE store_ingestbatch SET rolled_up_at = now() WHERE id = ANY(%s)", [ids])
    return Claimed(len(ids), records, calls)


def _execute_prepared(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """Run the rollup statement as a server-side prepared statement.

    Planning its forty CTEs costs about 4 ms, as much as rolling up a thousand
    records: prepared once per connection, it is planned once. Django's cursors bind
    parameters client-side, which cannot prepare, so this uses psycopg's own cursor
    on Django's connection (and so inside its transaction).
    """
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


_known_days: set[object] = set()


def _ensure_second_partitions(low_s: int, high_s: int) -> None:
    """Late records can land on a day whose per-second partitions are not made yet."""
    first, last = SECOND_PARTITIONS[0].day_of(low_s), SECOND_PARTITIONS[0].day_of(high_s)
    if first in _known_days and last in _known_days:
        return
    ensure_second_partitions_for(first, last)
    # Only once the claim commits: a rolled-back claim takes the new partitions with it.
    transaction.on_commit(lambda: _known_days.update({first, last}))


# A claim this small means ingest is trickling in: wait a moment for more, since a
# statement's fixed cost is better spread over many batches (freshness allows it).
SMALL_CLAIM_BATCHES = 8
GATHER_PAUSE_S = 0.25


def set_aside_failing_batch(first_error: Exception) -> int | None:
    """Roll up batches one at a time until the one that fails; mark it and return its id."""
    for _ in range(MAX_BATCHES):
        with transaction.atomic(), connection.cursor() as cursor:
            rows = _claim(cursor, 1)
            if not rows:
                break
            try:
                with transaction.atomic():  # a savepoint: the failure leaves the claim held
                    _roll_up_claimed(cursor, rows)
                continue
            except DATA_ERRORS as exc:
                reason = str(exc)
                cursor.execute("UPDATE store_ingestbatch SET rollup_error = %s WHERE id = %s", [reason, rows[0][0]])
        log.error("batch %s set aside: it cannot be rolled up (%s)", rows[0][0], reason)
        return int(rows[0][0])
    log.error("rollup failed (%s) and no single batch could be blamed", first_error)
    return None


def roll_up_pending(time_budget_s: float = 10.0, gather_pause_s: float = 0.0) -> Claimed:
    """Roll up until nothing is pending or the time budget is spent.

    With ``gather_pause_s``, a small claim is followed by that pause before the next.
    """
    deadline = time.monotonic() + time_budget_s
    batches = records = calls = 0
    while time.monotonic() < deadline:
        try:
            claimed = roll_up_once()
        except DATA_ERRORS as exc:
            # A batch whose data the database refuses would fail every claim that holds
            # it, and claims take the oldest first: find it and set it aside.
            set_aside_failing_batch(exc)
            continue
        except TRANSIENT_ERRORS as exc:
            # A deadlock with another worker, or the database went away: nothing was
            # counted (the transaction rolled back), so trying again is safe.
            log.warning("rollup retried after %s", exc)
            time.sleep(0.1)
            continue
        if claimed.batches == 0:
            break
        batches, records, calls = batches + claimed.batches, records + claimed.records, calls + claimed.calls
        if claimed.batches < SMALL_CLAIM_BATCHES and gather_pause_s:
            time.sleep(gather_pause_s)
    return Claimed(batches, records, calls)
