"""Refuse new records (503) while too many acknowledged ones wait to be rolled up.

If the rollup workers are down or far behind, the raw store would grow without
limit and every figure would be stale; clients are better told to back off. The
backlog is read at most once a second per process (a sum over the outbox's
pending index), so the check costs next to nothing per request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from monitor.api.errors import ApiError
from monitor.timedcache import TimedCache

RETRY_AFTER_S = 10
_backlog: TimedCache[str, int] = TimedCache(lambda: 1.0)


def clear_cache() -> None:
    _backlog.clear()


def pending_records() -> int:
    cached = _backlog.get("pending")
    if cached is not None:
        return cached
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(records), 0)::bigint FROM store_ingestbatch "
            "WHERE rolled_up_at IS NULL AND rollup_error IS NULL"
        )
        (pending,) = cursor.fetchone()
    _backlog.put("pending", int(pending))
    return int(pending)


def check_backlog() -> None:
    limit = settings.INGEST_BACKLOG_LIMIT
    if limit and pending_records() >= limit:
        raise ApiError(
            503,
            f"More than {limit:,} records are waiting to be rolled up; retry later.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
