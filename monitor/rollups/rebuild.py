"""The statements that rebuild a project's minute, hour or day rollups from the level below.

Per series, and per group (the project, each single dimension's values and the
pairs of ``levels.Dim``). Rows are replaced, not added to, so rebuilding twice
changes nothing. Every statement takes ``%(project)s`` and ``%(buckets)s`` (bucket
starts of the level being rebuilt) and reads only that project's rows.

A group's sums and sketch at any level merge its series' rows of that level (just
rebuilt), keyed inside the statement by an integer per group (``gmap``): hashing and
sorting integers, not dimension names, is what keeps a day of sparse history to a few
seconds. Its peak and stability come from the level below: the busiest second of the
sum over its series, and the sum of its minutes' pooled error rates.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.backends.utils import CursorWrapper

from .levels import ADDITIVE, DAY, HOUR, MINUTE, QUANTILE_COLUMNS, SECOND, Level, group_keys_sql, sql_type

_FIGURES = [*ADDITIVE, "latency_max", "peak_calls", "lat_bins", "lat_counts", "ttft_bins", "ttft_counts"]
_QUANTILES = list(QUANTILE_COLUMNS)
_FROM_ROWS = ", ".join(f"r.{c}" for c in _FIGURES)
# The project's series, computed once per statement (an InitPlan), for index conditions.
_SERIES = "ARRAY(SELECT id FROM catalogue_series WHERE project_id = %(project)s)"
# Every (series, group) pair of the project, each group numbered.
_GMAP = f"""gmap AS MATERIALIZED (
          SELECT s.id AS series_id, g.dim, g.value, dense_rank() OVER (ORDER BY g.dim, g.value)::integer AS gid
          FROM catalogue_series s CROSS JOIN LATERAL {group_keys_sql()} AS g(dim, value)
          WHERE s.project_id = %(project)s
        ),
        groups AS (SELECT DISTINCT gid, dim, value FROM gmap),"""


# OFFSET 0: evaluated once per row (flattened, each q.lat[i] would call the function again).
_QUANTILES_JOIN = """CROSS JOIN LATERAL (SELECT tw_quantiles(lat_bins, lat_counts) AS lat,
                                   tw_quantiles(ttft_bins, ttft_counts) AS ttft OFFSET 0) AS q"""


def _merge(target: str, group: bool, source: str, extra: dict[str, str] | None = None, scalars: str = "") -> str:
    """One statement: INSERT into ``target`` a row per key, merging that key's ``source`` rows.

    ``source`` yields the key (``series_id`` or ``gid``, and ``bucket``) and every figure
    column. With ``scalars`` (a query of the key, ``peak_calls`` and the ``extra``
    columns), the peak is the greater of the rows' and the scalars', and ``extra``
    comes from there. Bins are summed by hashing, each key's sketch sorted on its own,
    its percentiles read off the sorted arrays (``tw_quantiles``).
    """
    extra = extra or {}
    key = "gid" if group else "series_id"
    sums = ", ".join(f"sum({c})::{sql_type(c)} AS {c}" for c in ADDITIVE)
    arrays = ", ".join(
        f"coalesce(array_agg({col} ORDER BY b) FILTER (WHERE kind = {kind}), '{{}}') AS {name}_{part}"
        for kind, name in ((0, "lat"), (1, "ttft"))
        for col, part in (("b", "bins"), ("n", "counts"))
    )
    # Series rows' own percentiles are never read (a chart point of one series row is not a
    # thing the query layer reads as stored), so only groups pay for them.
    if group:
        quantiles = ", ".join(f"q.{name}[{i + 1}]" for name in ("lat", "ttft") for i in range(3))
    else:
        quantiles = ", ".join(["NULL::float8"] * 6)
    peak = "greatest(totals.peak_calls, sc.peak_calls)" if scalars else "totals.peak_calls"
    figures = ", ".join(peak if c == "peak_calls" else c for c in _FIGURES)
    out_keys = "%(project)s, groups.dim, groups.value, bucket" if group else "series_id, bucket"
    columns = ", ".join(
        [*(["project_id", "dim", "value", "bucket"] if group else ["series_id", "bucket"]), *_FIGURES, *_QUANTILES,
         *extra]
    )  # fmt: skip
    return f"""
        WITH {_GMAP if group else ""}
        src AS MATERIALIZED ({source}),
        totals AS (
          SELECT {key}, bucket, {sums}, max(latency_max) AS latency_max, max(peak_calls) AS peak_calls
          FROM src GROUP BY {key}, bucket
        ),
        {f"sc AS ({scalars})," if scalars else ""}
        bins AS (
          SELECT {key}, bucket, v.kind, u.b, sum(u.c)::bigint AS n
          FROM src
          CROSS JOIN LATERAL (VALUES (0, src.lat_bins, src.lat_counts), (1, src.ttft_bins, src.ttft_counts))
            AS v(kind, bins, counts)
          CROSS JOIN LATERAL unnest(v.bins, v.counts) AS u(b, c)
          GROUP BY {key}, bucket, u.b, v.kind  -- in this order: see rebuild()
        ),
        sketches AS (SELECT {key}, bucket, {arrays} FROM bins GROUP BY {key}, bucket)
        INSERT INTO {target} ({columns})
        SELECT {out_keys}, {figures}, {quantiles}{"".join(f", coalesce(sc.{name}, 0)" for name in extra)}
        FROM totals JOIN sketches USING ({key}, bucket)
        {f"LEFT JOIN sc USING ({key}, bucket)" if scalars else ""}
        {"JOIN groups USING (gid)" if group else ""}
        {_QUANTILES_JOIN if group else ""}
    """


def _within(table: str, level: Level, series: bool, ranged: bool) -> str:
    """The project's rows of ``table`` inside each bucket being rebuilt, tagged with it as ``k.b``.

    ``ranged``: one range scan from the first bucket to the last, for buckets that fill
    most of that span (a day of backfill); else a range scan of the key index per bucket
    (LATERAL with OFFSET 0, not flattened, whatever the planner's estimates).
    """
    owner = f"series_id = ANY({_SERIES})" if series else "project_id = %(project)s"
    if ranged:
        return (
            f"unnest(%(buckets)s::bigint[]) AS k(b) JOIN (SELECT *, bucket - bucket %% {level.seconds} AS at "
            f"FROM {table} WHERE {owner} AND bucket >= %(low)s AND bucket < %(high)s) AS r ON r.at = k.b"
        )
    return (
        f"unnest(%(buckets)s::bigint[]) AS k(b) CROSS JOIN LATERAL "
        f"(SELECT * FROM {table} WHERE {owner} AND bucket >= k.b AND bucket < k.b + {level.seconds} OFFSET 0) AS r"
    )


def _series_statement(level: Level, below: Level, ranged: bool) -> str:
    source = f"SELECT r.series_id, k.b AS bucket, {_FROM_ROWS} FROM {_within(below.series_table, level, True, ranged)}"
    return _merge(level.series_table, False, source)


def _group_source(level: Level) -> str:
    """Every series row of the level's buckets (just rebuilt), once per group it belongs to."""
    return (
        f"SELECT gmap.gid, r.bucket, {_FROM_ROWS} FROM {level.series_table} r JOIN gmap USING (series_id) "
        f"WHERE r.series_id = ANY({_SERIES}) AND r.bucket = ANY(%(buckets)s::bigint[])"
    )


def _shared_seconds(level: Level, ranged: bool) -> str:
    """Per group and bucket of ``level``: the calls of each second where several series had
    calls, summed over the group's series (columns gid, bucket, calls).

    The busiest second of the sum over a group's series: in a second where one series
    alone had calls that is that series' calls, which its own peak (in the source rows)
    already bounds, so only seconds where several series had calls are summed (for
    sparse history, few are).
    """
    return f"""
            SELECT gmap.gid, x.bucket, sum(x.calls) AS calls
            FROM (
              SELECT r.series_id, r.bucket AS sec, k.b AS bucket, r.calls, count(*) OVER (PARTITION BY r.bucket) AS n
              FROM {_within(SECOND.series_table, level, True, ranged)}
            ) AS x JOIN gmap USING (series_id)
            WHERE x.n > 1
            GROUP BY gmap.gid, x.bucket, x.sec"""


def _minute_groups(ranged: bool) -> str:
    scalars = f"""
          SELECT gid, bucket, max(calls)::bigint AS peak_calls, 0::float8 AS stab_sum, 0::bigint AS stab_minutes
          FROM ({_shared_seconds(MINUTE, ranged)}) AS per_second
          GROUP BY gid, bucket"""
    return _merge(MINUTE.group_table, True, _group_source(MINUTE), _STABILITY, scalars)


def _recent_scalars(level: Level, ranged: bool) -> str:
    """A group's peak and stability from its own rows of the level below (kept for recent days)."""
    if level is HOUR:  # an hour's stability: the sum of its minutes' pooled error rates, and their number
        stability = (
            "coalesce(sum(r.errors::float8 / r.calls) FILTER (WHERE r.calls > 0), 0) AS stab_sum, "
            "count(*) FILTER (WHERE r.calls > 0) AS stab_minutes"
        )
    else:  # a day's: its hours' added up
        stability = "sum(r.stab_sum) AS stab_sum, sum(r.stab_minutes)::bigint AS stab_minutes"
    below = MINUTE if level is HOUR else HOUR
    return f"""
          SELECT groups.gid, k.b AS bucket, max(r.peak_calls)::bigint AS peak_calls, {stability}
          FROM {_within(below.group_table, level, False, ranged)} JOIN groups USING (dim, value)
          GROUP BY groups.gid, k.b"""


def _history_hour_scalars(ranged: bool) -> str:
    """An hour's peak and stability for a day without group minute rows (older than
    GROUP_MINUTE_DAYS): the busiest second from the seconds where several series had calls
    (as for a minute), and the minutes' error rates pooled over the group's series minutes."""
    return f"""
          SELECT gid, bucket, max(peak_calls)::bigint AS peak_calls, sum(stab_sum) AS stab_sum,
            sum(stab_minutes)::bigint AS stab_minutes
          FROM (
            SELECT gid, bucket, calls AS peak_calls, 0::float8 AS stab_sum, 0 AS stab_minutes
            FROM ({_shared_seconds(HOUR, ranged)}) AS per_second
            UNION ALL
            SELECT gid, hour, 0, coalesce(sum(errors::float8 / calls) FILTER (WHERE calls > 0), 0),
              count(*) FILTER (WHERE calls > 0)
            FROM (
              SELECT gmap.gid, k.b AS hour, r.bucket AS minute, sum(r.calls) AS calls, sum(r.errors) AS errors
              FROM {_within(MINUTE.series_table, HOUR, True, ranged)} JOIN gmap USING (series_id)
              GROUP BY gmap.gid, k.b, r.bucket
            ) AS pooled
            GROUP BY gid, hour
          ) AS parts
          GROUP BY gid, bucket"""


_STABILITY = {"stab_sum": "", "stab_minutes": ""}


def _coarser_groups(level: Level, ranged: bool, recent: bool) -> str:
    scalars = _recent_scalars(level, ranged) if recent or level is DAY else _history_hour_scalars(ranged)
    return _merge(level.group_table, True, _group_source(level), _STABILITY, scalars)


SERIES_STATEMENTS = {
    (level, ranged): _series_statement(level, below, ranged)
    for level, below in ((MINUTE, SECOND), (HOUR, MINUTE), (DAY, HOUR))
    for ranged in (False, True)
}
# (level, ranged, recent): recent is a day with group minute rows (see group_minute_cutoff).
GROUP_STATEMENTS = {
    (level, ranged, recent): _minute_groups(ranged) if level is MINUTE else _coarser_groups(level, ranged, recent)
    for level in (MINUTE, HOUR, DAY)
    for ranged in (False, True)
    for recent in (False, True)
}


def group_minute_cutoff(now: float | None = None) -> int:
    """The first minute with group minute rows: 00:00 UTC GROUP_MINUTE_DAYS − 1 days ago.

    Older minutes' groups are summed from their series by readers. For sparse history a
    group's minute merges little and costs as much as its series' (most of a month's
    backfill went there); recent minutes are what one-minute charts read.
    """
    current = int(time.time() if now is None else now)
    return (current // DAY.seconds - settings.GROUP_MINUTE_DAYS + 1) * DAY.seconds


def rebuild(cursor: CursorWrapper, project_id: int, level: Level, buckets: list[int]) -> None:
    """Replace the project's rollups of ``level`` in these buckets (inside a transaction)."""
    if not buckets:
        return
    ordered = sorted(buckets)
    low, high = ordered[0], ordered[-1] + level.seconds
    # Buckets filling a quarter of their span or more are read with one range scan.
    ranged = len(ordered) * level.seconds * 4 >= high - low
    params: dict[str, Any] = {"project": project_id, "buckets": ordered, "low": low, "high": high}
    # A day of sparse history is a few million bins: in memory, not in temp files.
    cursor.execute("SET LOCAL work_mem = '256MB'")
    # The rollup tables were often empty at their last ANALYZE, and the planner then
    # believes every step yields one row and joins by nested loop: minutes of work for
    # a day of sparse data. Hash joins it is; and sorted aggregates, since a sketch's
    # bins grouped in (key, bucket, bin) order come out ready for array_agg(ORDER BY
    # bin) with no second sort (a third less for a recent day's group minutes of sparse
    # history, a tenth for an older day's minutes).
    cursor.execute("SET LOCAL enable_nestloop = off")
    cursor.execute("SET LOCAL enable_hashagg = off")
    cursor.execute(
        f"DELETE FROM {level.series_table} WHERE series_id = ANY({_SERIES}) AND bucket = ANY(%(buckets)s::bigint[])",
        params,
    )
    cursor.execute(
        f"DELETE FROM {level.group_table} WHERE project_id = %(project)s AND bucket = ANY(%(buckets)s::bigint[])",
        params,
    )
    cursor.execute(SERIES_STATEMENTS[(level, ranged)], params)
    recent = low >= group_minute_cutoff()
    if level is MINUTE and not recent:
        # A day holds history or recent minutes, never both (the cutoff is a day's start);
        # a step's buckets lie in one day.
        return
    cursor.execute(GROUP_STATEMENTS[(level, ranged, recent)], params)
