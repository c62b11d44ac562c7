"""Rebuild the minute, hour and day rollups from the level below, for the minutes that changed.

Rollups write per-second rows only and mark the minutes they touched dirty. Here
a dirty minute's row is replaced by one computed from its seconds, then its hour's
row from the hour's minutes, then its day's from the day's hours: replacing, not
adding, so running it twice changes nothing. Until a minute is rebuilt the query
layer reads its seconds instead (``monitor.metrics.plan``), so no figure waits for it.

A minute is claimed with ``FOR UPDATE SKIP LOCKED``; a rollup that touches it again
takes the same row lock (its dirty mark is an upsert), so it either commits before
the rebuild reads the seconds, or marks the minute dirty again after.
"""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from .claim import REROLL_LOCK_ID
from .levels import ADDITIVE, DAY, HOUR, MINUTE, SECOND, Level, sql_type

COMPACT_LOCK_ID = 0x7477_636F_6D70  # "twcomp"
# A minute still filling up would be rebuilt again and again: wait until it is over.
GRACE_S = 5
MAX_MINUTES = 720

_SERIES_COLUMNS = ["series_id", "bucket", *ADDITIVE, "latency_max", "peak_calls"] + [
    f"{s}_{p}" for s in ("lat", "ttft") for p in ("bins", "counts")
]


def _rebuild_series(cursor: CursorWrapper, level: Level, below: Level, buckets: list[int]) -> None:
    sums = ", ".join(f"sum({c})::{sql_type(c)}" for c in ADDITIVE)
    cursor.execute(f"DELETE FROM {level.series_table} WHERE bucket = ANY(%s)", [buckets])
    cursor.execute(
        f"""
        WITH src AS MATERIALIZED (
          SELECT k.b AS target, r.*
          FROM unnest(%(buckets)s::bigint[]) AS k(b)
          JOIN {below.series_table} r ON r.bucket >= k.b AND r.bucket < k.b + {level.seconds}
        ),
        totals AS (
          SELECT series_id, target AS bucket, {sums}, max(latency_max) AS latency_max, max(peak_calls) AS peak_calls
          FROM src GROUP BY 1, 2
        ),
        bins AS (
          SELECT series_id, target AS bucket, v.kind, u.b, sum(u.c)::bigint AS n
          FROM src
          CROSS JOIN LATERAL (VALUES (0, src.lat_bins, src.lat_counts), (1, src.ttft_bins, src.ttft_counts))
            AS v(kind, bins, counts)
          CROSS JOIN LATERAL unnest(v.bins, v.counts) AS u(b, c)
          GROUP BY 1, 2, 3, 4
        ),
        sketches AS (
          SELECT series_id, bucket,
            coalesce(array_agg(b ORDER BY b) FILTER (WHERE kind = 0), '{{}}') AS lat_bins,
            coalesce(array_agg(n ORDER BY b) FILTER (WHERE kind = 0), '{{}}') AS lat_counts,
            coalesce(array_agg(b ORDER BY b) FILTER (WHERE kind = 1), '{{}}') AS ttft_bins,
            coalesce(array_agg(n ORDER BY b) FILTER (WHERE kind = 1), '{{}}') AS ttft_counts
          FROM bins GROUP BY 1, 2
        )
        INSERT INTO {level.series_table} ({", ".join(_SERIES_COLUMNS)})
        SELECT t.*, s.lat_bins, s.lat_counts, s.ttft_bins, s.ttft_counts
        FROM totals t JOIN sketches s USING (series_id, bucket)
        ORDER BY 1, 2
        """,
        {"buckets": buckets},
    )


# Per-group figures of each level from the level below. A minute's come from its
# series' seconds: the group's calls per second are summed first, then the busiest
# second is its peak. Stability: an hour keeps the sum of its minutes' error rates and
# how many minutes had calls; a day adds up its hours'.
_GROUP_COLUMNS = "project_id, dim, value, bucket, calls, errors, peak_calls, stab_sum, stab_minutes"
_GROUP_FROM_SECONDS = f"""
    INSERT INTO {MINUTE.group_table} ({_GROUP_COLUMNS})
    SELECT project_id, dim, value, minute, sum(calls)::bigint, sum(errors)::bigint, max(calls), 0, 0
    FROM (
      SELECT s.project_id, k.dim, k.value, m.b AS minute, r.bucket, sum(r.calls) AS calls, sum(r.errors) AS errors
      FROM unnest(%(buckets)s::bigint[]) AS m(b)
      JOIN {SECOND.series_table} r ON r.bucket >= m.b AND r.bucket < m.b + 60
      JOIN catalogue_series s ON s.id = r.series_id
      CROSS JOIN LATERAL (VALUES
        (0::smallint, ''::text), (1, s.tier_id::text), (2, s.model_id::text), (3, s.service), (4, s.deployment)
      ) AS k(dim, value)
      GROUP BY 1, 2, 3, 4, 5
    ) AS per_second
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
"""
_GROUP_FIGURES = {
    HOUR: (
        "sum(calls)::bigint, sum(errors)::bigint, max(peak_calls), "
        "coalesce(sum(errors::float8 / calls) FILTER (WHERE calls > 0), 0), count(*) FILTER (WHERE calls > 0)"
    ),
    DAY: "sum(calls)::bigint, sum(errors)::bigint, max(peak_calls), sum(stab_sum), sum(stab_minutes)::bigint",
}


def _rebuild_groups(cursor: CursorWrapper, level: Level, below: Level, buckets: list[int]) -> None:
    cursor.execute(f"DELETE FROM {level.group_table} WHERE bucket = ANY(%s)", [buckets])
    if level is MINUTE:
        cursor.execute(_GROUP_FROM_SECONDS, {"buckets": buckets})
        return
    cursor.execute(
        f"""
        INSERT INTO {level.group_table} ({_GROUP_COLUMNS})
        SELECT r.project_id, r.dim, r.value, k.b, {_GROUP_FIGURES[level]}
        FROM unnest(%(buckets)s::bigint[]) AS k(b)
        JOIN {below.group_table} r ON r.bucket >= k.b AND r.bucket < k.b + {level.seconds}
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        """,
        {"buckets": buckets},
    )


def rebuild(cursor: CursorWrapper, minutes: list[int]) -> None:
    """Replace the rollups of these minutes, their hours and their days (inside a transaction)."""
    if not minutes:
        return
    hours = sorted({m - m % HOUR.seconds for m in minutes})
    days = sorted({m - m % DAY.seconds for m in minutes})
    cursor.execute("SET LOCAL work_mem = '64MB'")
    for level, below, buckets in ((MINUTE, SECOND, minutes), (HOUR, MINUTE, hours), (DAY, HOUR, days)):
        _rebuild_series(cursor, level, below, buckets)
        _rebuild_groups(cursor, level, below, buckets)


def compact_once(max_minutes: int = MAX_MINUTES, grace_s: int = GRACE_S) -> int:
    """Rebuild a share of the dirty minutes nobody else holds; returns how many."""
    newest = int(time.time()) - grace_s - 60
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [REROLL_LOCK_ID])
        # One compactor at a time: two rebuilding one hour from different minutes could
        # each miss the other's minute, and leave a stale hour with no mark to say so.
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COMPACT_LOCK_ID])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(
            """
            DELETE FROM rollup_dirty WHERE minute IN (
              SELECT minute FROM rollup_dirty WHERE minute <= %s ORDER BY minute LIMIT %s FOR UPDATE SKIP LOCKED
            ) RETURNING minute
            """,
            [newest, max_minutes],
        )
        minutes = sorted(row[0] for row in cursor.fetchall())
        rebuild(cursor, minutes)
    return len(minutes)


def compact_pending(time_budget_s: float = 10.0, grace_s: int = GRACE_S) -> int:
    deadline = time.monotonic() + time_budget_s
    done = 0
    while time.monotonic() < deadline:
        count = compact_once(grace_s=grace_s)
        if not count:
            break
        done += count
    return done
