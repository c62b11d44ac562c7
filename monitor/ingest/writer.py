"""Store a validated batch: one transaction, one ``COPY``, idempotent on request.

The batch row is inserted first. With an Idempotency-Key, a concurrent request
carrying the same key blocks on that row's unique index until this transaction
ends: it then sees a committed duplicate (and stores nothing), or, if this one
failed, goes ahead itself. A rejected or failed batch therefore never uses its
key up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from django.db import connection, transaction

from monitor.catalogue.series import SeriesLimitExceeded, resolve_series
from monitor.rollups.tasks import kick
from monitor.store.models import LIVE_WINDOW_S
from monitor.store.partitions import ensure_partitions_for_range

from .pricing import price_book
from .rows import COPY_SQL, COPY_TYPES, build_rows
from .validate import BatchRejected, Problem, ValidBatch


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicate: bool
    batch_id: int | None


def committed_duplicate(project_id: int, idempotency_key: str) -> StoreResult | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, records FROM store_ingestbatch WHERE project_id = %s AND idempotency_key = %s",
            [project_id, idempotency_key],
        )
        row = cursor.fetchone()
    return StoreResult(accepted=row[1], duplicate=True, batch_id=row[0]) if row else None


def store_batch(project_id: int, batch: ValidBatch, idempotency_key: str | None = None) -> StoreResult:
    try:
        return _store(project_id, batch, idempotency_key)
    except psycopg.errors.CheckViolation as exc:
        if "no partition" not in str(exc):
            raise
    # A record fell on a day whose partition the beat task has not made (yet):
    # make it and try once more. The failed attempt stored nothing.
    ensure_partitions_for_range(batch.min_ts_us, batch.max_ts_us)
    return _store(project_id, batch, idempotency_key)


def _store(project_id: int, batch: ValidBatch, idempotency_key: str | None) -> StoreResult:
    with transaction.atomic(), connection.cursor() as cursor:
        live = batch.min_ts_us >= (time.time() - LIVE_WINDOW_S) * 1_000_000
        params = [project_id, len(batch.records), batch.calls, batch.min_ts_us, batch.max_ts_us, live, idempotency_key]
        if idempotency_key is None:
            cursor.execute(_INSERT_BATCH + " RETURNING id", params)
        else:
            cursor.execute(_INSERT_BATCH + _ON_KEY_CONFLICT + " RETURNING id", params)
        row = cursor.fetchone()
        if row is None:
            # The same key committed first (we waited for it): a duplicate.
            duplicate = committed_duplicate(project_id, idempotency_key or "")
            if duplicate is not None:
                return duplicate
            raise RuntimeError("idempotency key conflicted but no committed batch holds it")
        batch_id = row[0]
        try:
            series = resolve_series(project_id, batch.distinct_keys)
        except SeriesLimitExceeded as exc:
            raise _over_series_limit(exc) from None
        rows = build_rows(batch, batch_id, series, price_book(project_id))
        with cursor.copy(COPY_SQL) as copy:
            copy.set_types(COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        # Only once the batch is committed may a worker look for it.
        transaction.on_commit(kick)
    return StoreResult(accepted=len(batch.records), duplicate=False, batch_id=batch_id)


def _over_series_limit(exc: SeriesLimitExceeded) -> BatchRejected:
    return BatchRejected(
        400,
        f"The project's series limit ({exc.limit:,} distinct service × tier × model × deployment) would be "
        f"exceeded: it holds {exc.present:,} and this batch adds {exc.adding:,}. Nothing was stored.",
        [Problem(None, None, str(exc))],
    )


_INSERT_BATCH = """
    INSERT INTO store_ingestbatch (project_id, received_at, records, calls, min_ts_us, max_ts_us, live,
      idempotency_key)
    VALUES (%s, now(), %s, %s, %s, %s, %s, %s)
"""
_ON_KEY_CONFLICT = " ON CONFLICT (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
