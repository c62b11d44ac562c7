"""Rebuild the minute, hour and day rollups from the level below, for the minutes that changed.

Rollups write per-second rows only and mark the minutes they touched dirty. Here
a dirty minute's rows are replaced by ones computed from its seconds, then its
hour's rows from the hour's minutes, then its day's from the day's hours: per
series, and per group of one dimension (project, tier, model, service, deployment).
Replacing, not adding, so running it twice changes nothing. Until a minute is
rebuilt the query layer reads its seconds instead (``monitor.metrics.plan``).

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

_FIGURES = [*ADDITIVE, "latency_max", "peak_calls", "lat_bins", "lat_counts", "ttft_bins", "ttft_counts"]
_QUANTILES = ["lat_p50", "lat_p95", "lat_p99", "ttft_p50", "ttft_p95", "ttft_p99"]
_SERIES_KEYS = ["series_id", "bucket"]
_GROUP_KEYS = ["project_id", "dim", "value", "bucket"]
_FROM_ROWS = ", ".join(f"r.{c}" for c in _FIGURES)


def _merge(target: str, keys: list[str], source: str, extra: dict[str, str], seconds: str | None = None) -> str:
    """One statement: INSERT into ``target`` a row per key, merging that key's ``source`` rows.

    ``source`` yields the key columns and every figure column. The peak is the greatest
    of the rows' peaks, unless ``seconds`` is given: rows of the key columns, ``sec``
    and ``calls``, whose calls are summed per second, the peak being the busiest
    second of the sum.
    """
    peak_of_seconds = seconds is not None
    key_list = ", ".join(keys)
    sums = ", ".join(f"sum({c})::{sql_type(c)} AS {c}" for c in ADDITIVE)
    extras = "".join(f", {expr} AS {name}" for name, expr in extra.items())
    peak = "" if peak_of_seconds else ", max(peak_calls) AS peak_calls"
    peaks_cte = (
        f"""peaks AS (
          SELECT {key_list}, max(c)::bigint AS peak_calls
          FROM (SELECT {key_list}, sec, sum(calls) AS c FROM ({seconds}) AS s GROUP BY {key_list}, sec) AS per_second
          GROUP BY {key_list}
        ),"""
        if peak_of_seconds
        else ""
    )
    arrays = ", ".join(
        f"coalesce(array_agg({col} ORDER BY b) FILTER (WHERE kind = {kind}), '{{}}') AS {name}_{part}"
        for kind, name in ((0, "lat"), (1, "ttft"))
        for col, part in (("b", "bins"), ("n", "counts"))
    )
    # Nearest rank: the first bin whose running count reaches ⌈q·n⌉.
    quantiles = ", ".join(
        f"tw_bin_value(min(b) FILTER (WHERE kind = {kind} AND cum >= greatest(1, ceil({q} * total)))) "
        f"AS {name}_p{round(q * 100)}"
        for kind, name in ((0, "lat"), (1, "ttft"))
        for q in (0.5, 0.95, 0.99)
    )
    columns = ", ".join([*keys, *_FIGURES, *_QUANTILES, *extra])
    peaks_join = f"JOIN peaks USING ({key_list})" if peak_of_seconds else ""
    return f"""
        WITH src AS MATERIALIZED ({source}),
        totals AS (
          SELECT {key_list}, {sums}, max(latency_max) AS latency_max{peak}{extras}
          FROM src GROUP BY {key_list}
        ),
        {peaks_cte}
        bins AS (
          SELECT {key_list}, v.kind, u.b, sum(u.c)::bigint AS n
          FROM src
          CROSS JOIN LATERAL (VALUES (0, src.lat_bins, src.lat_counts), (1, src.ttft_bins, src.ttft_counts))
            AS v(kind, bins, counts)
          CROSS JOIN LATERAL unnest(v.bins, v.counts) AS u(b, c)
          GROUP BY {key_list}, v.kind, u.b
        ),
        ranked AS (
          SELECT *, sum(n) OVER (PARTITION BY {key_list}, kind ORDER BY b) AS cum,
            sum(n) OVER (PARTITION BY {key_list}, kind) AS total
          FROM bins
        ),
        sketches AS (SELECT {key_list}, {arrays}, {quantiles} FROM ranked GROUP BY {key_list})
        INSERT INTO {target} ({columns})
        SELECT {columns} FROM totals JOIN sketches USING ({key_list}) {peaks_join}
        ORDER BY {key_list}
    """


def _within(table: str, level: Level) -> str:
    """The rows of ``table`` inside each bucket being rebuilt, tagged with it as ``k.b``."""
    # LATERAL with OFFSET 0 (not flattened): a range scan of the bucket index per bucket, whatever the planner's
    # estimates for tables that were empty at the last ANALYZE.
    return (
        f"unnest(%(buckets)s::bigint[]) AS k(b) CROSS JOIN LATERAL "
        f"(SELECT * FROM {table} WHERE bucket >= k.b AND bucket < k.b + {level.seconds} OFFSET 0) AS r"
    )


def _statements(level: Level, below: Level) -> list[str]:
    series = _merge(
        level.series_table,
        _SERIES_KEYS,
        f"SELECT r.series_id, k.b AS bucket, {_FROM_ROWS} FROM {_within(below.series_table, level)}",
        {},
    )
    if level is MINUTE:
        # A group's minute merges its series' minutes (just rebuilt); its peak comes from
        # their seconds: calls summed per second over the group, then the busiest second.
        dims = """CROSS JOIN LATERAL (VALUES
              (0::smallint, ''::text), (1, s.tier_id::text), (2, s.model_id::text), (3, s.service), (4, s.deployment)
            ) AS g(dim, value)"""
        source = f"""
            SELECT s.project_id, g.dim, g.value, r.bucket, {_FROM_ROWS}
            FROM {level.series_table} r JOIN catalogue_series s ON s.id = r.series_id {dims}
            WHERE r.bucket = ANY(%(buckets)s::bigint[])"""
        seconds = f"""
            SELECT s.project_id, g.dim, g.value, k.b AS bucket, r.bucket AS sec, r.calls
            FROM {_within(SECOND.series_table, level)} JOIN catalogue_series s ON s.id = r.series_id {dims}"""
        extra = {"stab_sum": "0", "stab_minutes": "0"}
        return [series, _merge(level.group_table, _GROUP_KEYS, source, extra, seconds)]
    source = (
        f"SELECT r.project_id, r.dim, r.value, k.b AS bucket, {_FROM_ROWS}, r.stab_sum, r.stab_minutes "
        f"FROM {_within(below.group_table, level)}"
    )
    if level is HOUR:  # an hour's stability: the sum of its minutes' pooled error rates, and their number
        extra = {
            "stab_sum": "coalesce(sum(errors::float8 / calls) FILTER (WHERE calls > 0), 0)",
            "stab_minutes": "count(*) FILTER (WHERE calls > 0)",
        }
    else:  # a day's: its hours' added up
        extra = {"stab_sum": "sum(stab_sum)", "stab_minutes": "sum(stab_minutes)::bigint"}
    return [series, _merge(level.group_table, _GROUP_KEYS, source, extra)]


_REBUILDS = [
    (level, below, _statements(level, below)) for level, below in ((MINUTE, SECOND), (HOUR, MINUTE), (DAY, HOUR))
]


def rebuild(cursor: CursorWrapper, minutes: list[int]) -> None:
    """Replace the rollups of these minutes, their hours and their days (inside a transaction)."""
    if not minutes:
        return
    buckets = {
        MINUTE: minutes,
        HOUR: sorted({m - m % HOUR.seconds for m in minutes}),
        DAY: sorted({m - m % DAY.seconds for m in minutes}),
    }
    cursor.execute("SET LOCAL work_mem = '64MB'")
    # The rollup tables were often empty at their last ANALYZE, and the planner then
    # believes every step yields one row and joins the merged rows by nested loop:
    # minutes of work for a day of sparse data. Hash joins it is (the per-bucket range
    # scans stay nested loops: they have no other way).
    cursor.execute("SET LOCAL enable_nestloop = off")
    for level, _, statements in _REBUILDS:
        cursor.execute(f"DELETE FROM {level.series_table} WHERE bucket = ANY(%s)", [buckets[level]])
        cursor.execute(f"DELETE FROM {level.group_table} WHERE bucket = ANY(%s)", [buckets[level]])
        for statement in statements:
            cursor.execute(statement, {"buckets": buckets[level]})


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
