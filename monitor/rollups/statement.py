"""The one SQL statement that rolls a set of ingest batches up into every rollup table.

PostgreSQL does the work where the rows are: it reads the batches' raw rows once,
bins latencies, and upserts per-series rows at 1 s / 1 min / 1 h / 1 d and
per-group rows (project, tier, model, service, deployment) at the same levels.
Every write is additive (counts and sums add, sketches merge bin by bin, peaks take
the greater), so batches can be rolled up in any order, by any number of workers.
Each INSERT sorts its rows by key, so concurrent workers lock rows in one order.
"""

from __future__ import annotations

from .levels import ADDITIVE, DAY, HOUR, LEVELS, MINUTE, SECOND, Level, sql_type

_SKETCHES = ("lat", "ttft")
_SEP = ",\n    "


def _series_delta(level: Level) -> str:
    if level is SECOND:
        return ""
    # Each level is built from the one below it, which is already much smaller than the raw rows.
    below = LEVELS[LEVELS.index(level) - 1].name
    sums = _SEP.join(f"sum({c})::{sql_type(c)} AS {c}" for c in ADDITIVE)
    return f"""
d_{level.name} AS MATERIALIZED (
  SELECT series_id, bucket - bucket % {level.seconds} AS bucket,
    {sums},
    max(latency_max) AS latency_max
  FROM d_{below} GROUP BY 1, 2
),
k_{level.name} AS MATERIALIZED (
  SELECT series_id, bucket - bucket % {level.seconds} AS bucket, kind, bin, sum(n)::bigint AS n
  FROM k_{below} GROUP BY 1, 2, 3, 4
),"""


def _series_upsert(level: Level) -> str:
    n = level.name
    columns = ["series_id", "bucket", *ADDITIVE, "latency_max", "peak_calls"]
    columns += [f"{s}_{part}" for s in _SKETCHES for part in ("bins", "counts")]
    values = ["d.series_id", "d.bucket", *(f"d.{c}" for c in ADDITIVE), "d.latency_max"]
    values.append("d.calls" if level is SECOND else "p.peak")
    values += [f"s.{s}_{part}" for s in _SKETCHES for part in ("bins", "counts")]
    peak_join = "" if level is SECOND else f"JOIN p_{n} p USING (series_id, bucket)"
    updates = [f"{c} = t.{c} + EXCLUDED.{c}" for c in ADDITIVE]
    updates.append("latency_max = GREATEST(t.latency_max, EXCLUDED.latency_max)")
    updates.append(
        "peak_calls = t.peak_calls + EXCLUDED.peak_calls"
        if level is SECOND
        else "peak_calls = GREATEST(t.peak_calls, EXCLUDED.peak_calls)"
    )
    for s in _SKETCHES:
        updates.append(
            f"({s}_bins, {s}_counts) = (SELECT bins, counts FROM "
            f"tw_sketch_add(t.{s}_bins, t.{s}_counts, EXCLUDED.{s}_bins, EXCLUDED.{s}_counts))"
        )
    returning = "RETURNING series_id, bucket, calls" if level is SECOND else ""
    peaks = (
        ""
        if level is SECOND
        else f"""
p_{n} AS (
  SELECT series_id, bucket - bucket % {level.seconds} AS bucket, max(calls) AS peak FROM up_1s GROUP BY 1, 2
),"""
    )
    return f"""{peaks}
s_{n} AS (
  SELECT series_id, bucket,
    coalesce(array_agg(bin ORDER BY bin) FILTER (WHERE kind = 0), '{{}}') AS lat_bins,
    coalesce(array_agg(n ORDER BY bin) FILTER (WHERE kind = 0), '{{}}') AS lat_counts,
    coalesce(array_agg(bin ORDER BY bin) FILTER (WHERE kind = 1), '{{}}') AS ttft_bins,
    coalesce(array_agg(n ORDER BY bin) FILTER (WHERE kind = 1), '{{}}') AS ttft_counts
  FROM k_{n} GROUP BY 1, 2
),
up_{n} AS (
  INSERT INTO {level.series_table} AS t ({", ".join(columns)})
  SELECT {", ".join(values)}
  FROM d_{n} d JOIN s_{n} s USING (series_id, bucket) {peak_join}
  ORDER BY d.series_id, d.bucket
  ON CONFLICT (series_id, bucket) DO UPDATE SET
    {_SEP.join(updates)}
  {returning}
),"""


_GROUP_KEY = "project_id, dim, value, bucket"


def _group_upserts() -> str:
    """Per-group rows: counts, the peak of the group's per-second sum, and stability.

    Stability is the mean over minutes of each minute's pooled error rate. An hour or
    day keeps the sum of its minutes' rates and how many minutes had calls; a batch
    that changes a minute's rate adds the change to both.
    """
    parts = [
        f"""
gs AS MATERIALIZED (
  SELECT id, project_id, tier_id, model_id, service, deployment
  FROM catalogue_series WHERE id IN (SELECT DISTINCT series_id FROM d_1s)
),
g_1s AS MATERIALIZED (
  SELECT s.project_id, k.dim, k.value, d.bucket, sum(d.calls)::bigint AS calls, sum(d.errors)::bigint AS errors
  FROM d_1s d JOIN gs s ON s.id = d.series_id
  CROSS JOIN LATERAL (VALUES
    (0::smallint, ''::text), (1, s.tier_id::text), (2, s.model_id::text), (3, s.service), (4, s.deployment)
  ) AS k(dim, value)
  GROUP BY 1, 2, 3, 4
),
gup_1s AS (
  INSERT INTO {SECOND.group_table} AS t ({_GROUP_KEY}, calls, errors, peak_calls, stab_sum, stab_minutes)
  SELECT {_GROUP_KEY}, calls, errors, calls, 0, 0 FROM g_1s ORDER BY 1, 2, 3, 4
  ON CONFLICT ({_GROUP_KEY}) DO UPDATE SET
    calls = t.calls + EXCLUDED.calls, errors = t.errors + EXCLUDED.errors, peak_calls = t.peak_calls + EXCLUDED.calls
  RETURNING {_GROUP_KEY}, calls
),
g_1m AS MATERIALIZED (
  SELECT project_id, dim, value, bucket - bucket % 60 AS bucket, sum(calls)::bigint AS calls,
    sum(errors)::bigint AS errors
  FROM g_1s GROUP BY 1, 2, 3, 4
),
gup_1m AS (
  INSERT INTO {MINUTE.group_table} AS t ({_GROUP_KEY}, calls, errors, peak_calls, stab_sum, stab_minutes)
  SELECT m.project_id, m.dim, m.value, m.bucket, m.calls, m.errors, p.peak, 0, 0
  FROM g_1m m JOIN (
    SELECT project_id, dim, value, bucket - bucket % 60 AS bucket, max(calls) AS peak FROM gup_1s GROUP BY 1, 2, 3, 4
  ) p USING (project_id, dim, value, bucket)
  ORDER BY 1, 2, 3, 4
  ON CONFLICT ({_GROUP_KEY}) DO UPDATE SET
    calls = t.calls + EXCLUDED.calls, errors = t.errors + EXCLUDED.errors,
    peak_calls = GREATEST(t.peak_calls, EXCLUDED.peak_calls)
  RETURNING {_GROUP_KEY}, calls, errors
),
g_rate AS MATERIALIZED (
  SELECT n.project_id, n.dim, n.value, n.bucket,
    n.errors::double precision / n.calls
      - CASE WHEN n.calls > m.calls THEN (n.errors - m.errors)::double precision / (n.calls - m.calls) ELSE 0 END
      AS rate_change,
    CASE WHEN n.calls = m.calls THEN 1 ELSE 0 END AS new_minute
  FROM gup_1m n JOIN g_1m m USING (project_id, dim, value, bucket)
),"""
    ]
    for level in (HOUR, DAY):
        s = level.seconds
        parts.append(
            f"""
gup_{level.name} AS (
  INSERT INTO {level.group_table} AS t ({_GROUP_KEY}, calls, errors, peak_calls, stab_sum, stab_minutes)
  SELECT a.project_id, a.dim, a.value, a.bucket, a.calls, a.errors, p.peak, r.rate_change, r.new_minutes
  FROM (
    SELECT project_id, dim, value, bucket - bucket % {s} AS bucket, sum(calls)::bigint AS calls,
      sum(errors)::bigint AS errors
    FROM g_1m GROUP BY 1, 2, 3, 4
  ) a
  JOIN (
    SELECT project_id, dim, value, bucket - bucket % {s} AS bucket, max(calls) AS peak FROM gup_1s GROUP BY 1, 2, 3, 4
  ) p USING (project_id, dim, value, bucket)
  JOIN (
    SELECT project_id, dim, value, bucket - bucket % {s} AS bucket, sum(rate_change) AS rate_change,
      sum(new_minute)::bigint AS new_minutes
    FROM g_rate GROUP BY 1, 2, 3, 4
  ) r USING (project_id, dim, value, bucket)
  ORDER BY 1, 2, 3, 4
  ON CONFLICT ({_GROUP_KEY}) DO UPDATE SET
    calls = t.calls + EXCLUDED.calls, errors = t.errors + EXCLUDED.errors,
    peak_calls = GREATEST(t.peak_calls, EXCLUDED.peak_calls),
    stab_sum = t.stab_sum + EXCLUDED.stab_sum, stab_minutes = t.stab_minutes + EXCLUDED.stab_minutes
),"""
        )
    return "".join(parts)


def _build(source: str) -> str:
    sums = _SEP.join(
        [
            "sum(calls)::bigint AS calls",
            "sum(errors)::bigint AS errors",
            "sum(latency_ms * calls) AS latency_sum",
            "coalesce(sum(calls) FILTER (WHERE ttft_ms IS NOT NULL), 0)::bigint AS ttft_calls",
            "coalesce(sum(ttft_ms * calls), 0) AS ttft_sum",
            "coalesce(sum(tokens_in), 0) AS tokens_in",
            "coalesce(sum(calls) FILTER (WHERE tokens_in IS NOT NULL), 0)::bigint AS tokens_in_calls",
            "coalesce(sum(tokens_out), 0) AS tokens_out",
            "coalesce(sum(calls) FILTER (WHERE tokens_out IS NOT NULL), 0)::bigint AS tokens_out_calls",
            "coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens",
            "coalesce(sum(cost_nano), 0) AS cost_nano",
            "coalesce(sum(calls) FILTER (WHERE cost_nano IS NOT NULL), 0)::bigint AS cost_calls",
            "coalesce(sum(cache_hits), 0)::bigint AS cache_hits",
            "coalesce(sum(calls) FILTER (WHERE cache_hits IS NOT NULL), 0)::bigint AS cache_calls",
            "coalesce(sum(energy_wh), 0) AS energy_wh",
            "coalesce(sum(calls) FILTER (WHERE energy_wh IS NOT NULL), 0)::bigint AS energy_calls",
            "max(latency_ms) AS latency_max",
        ]
    )
    head = f"""
WITH r AS MATERIALIZED (
  SELECT rr.series_id, rr.ts_us / 1000000 AS sec, rr.calls, rr.errors, rr.latency_ms, rr.ttft_ms, rr.tokens_in,
    rr.tokens_out, rr.reasoning_tokens, rr.cost_nano, rr.energy_wh, rr.cache_hits
  {source}
),
d_1s AS MATERIALIZED (
  SELECT series_id, sec AS bucket,
    {sums}
  FROM r GROUP BY 1, 2
),
k_1s AS MATERIALIZED (
  SELECT series_id, sec AS bucket, 0 AS kind, tw_bin(latency_ms) AS bin, sum(calls)::bigint AS n FROM r GROUP BY 1, 2, 4
  UNION ALL
  SELECT series_id, sec, 1, tw_bin(ttft_ms), sum(calls)::bigint FROM r WHERE ttft_ms IS NOT NULL GROUP BY 1, 2, 4
),"""
    body = "".join(_series_delta(level) + _series_upsert(level) for level in LEVELS)
    body += _group_upserts()
    # The main query only reports what was counted; every data-modifying CTE runs regardless.
    return head + body.rstrip(",") + "\nSELECT count(*), coalesce(sum(calls), 0) FROM r"


# psycopg placeholders are %(name)s: the modulo operator must be written %%.
# The claimed batches' rows (their times bound the partitions to read).
ROLLUP_SQL = _build(
    "FROM raw_records rr WHERE rr.batch_id = ANY(%(batches)s) AND rr.ts_us >= %(low)s AND rr.ts_us <= %(high)s"
).replace(" % ", " %% ")
# A time range rebuilt from scratch: only batches already counted (the rest will be
# counted by the rollup worker, on top), optionally of one project's series.
REROLL_SQL = _build(
    "FROM raw_records rr JOIN store_ingestbatch b ON b.id = rr.batch_id AND b.rolled_up_at IS NOT NULL "
    "WHERE rr.ts_us >= %(low)s AND rr.ts_us < %(high)s AND (%(project)s::int IS NULL OR b.project_id = %(project)s)"
).replace(" % ", " %% ")
