"""The SQL statement that rolls a set of ingest batches up into the per-second rollups.

PostgreSQL does the work where the rows are: it reads the batches' raw rows once,
bins latencies into sketches, and upserts a row per series and second. Every
write is additive (counts and sums add, sketches merge bin by bin), so batches can be
rolled up in any order, by any number of workers; each INSERT sorts its rows by
key, so concurrent workers lock rows in one order. The statement also marks the
minutes it touched as dirty: ``compact.py`` rebuilds the coarser levels from them.
"""

from __future__ import annotations

from .levels import ADDITIVE, SECOND

_SKETCHES = ("lat", "ttft")
_SEP = ",\n    "

_DELTAS = _SEP.join(
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


def _series_upsert() -> str:
    columns = ["series_id", "bucket", *ADDITIVE, "latency_max", "peak_calls"]
    columns += [f"{s}_{part}" for s in _SKETCHES for part in ("bins", "counts")]
    values = ["d.series_id", "d.bucket", *(f"d.{c}" for c in ADDITIVE), "d.latency_max", "d.calls"]
    values += [f"s.{s}_{part}" for s in _SKETCHES for part in ("bins", "counts")]
    updates = [f"{c} = t.{c} + EXCLUDED.{c}" for c in ADDITIVE]
    updates.append("latency_max = GREATEST(t.latency_max, EXCLUDED.latency_max)")
    updates.append("peak_calls = t.peak_calls + EXCLUDED.peak_calls")  # a second's peak is its calls
    for s in _SKETCHES:
        updates.append(
            f"({s}_bins, {s}_counts) = (SELECT bins, counts FROM "
            f"tw_sketch_add(t.{s}_bins, t.{s}_counts, EXCLUDED.{s}_bins, EXCLUDED.{s}_counts))"
        )
    return f"""
s_1s AS (
  SELECT series_id, bucket,
    coalesce(array_agg(bin ORDER BY bin) FILTER (WHERE kind = 0), '{{}}') AS lat_bins,
    coalesce(array_agg(n ORDER BY bin) FILTER (WHERE kind = 0), '{{}}') AS lat_counts,
    coalesce(array_agg(bin ORDER BY bin) FILTER (WHERE kind = 1), '{{}}') AS ttft_bins,
    coalesce(array_agg(n ORDER BY bin) FILTER (WHERE kind = 1), '{{}}') AS ttft_counts
  FROM k_1s GROUP BY 1, 2
),
up_1s AS (
  INSERT INTO {SECOND.series_table} AS t ({", ".join(columns)})
  SELECT {", ".join(values)}
  FROM d_1s d JOIN s_1s s USING (series_id, bucket)
  ORDER BY d.series_id, d.bucket
  ON CONFLICT (series_id, bucket) DO UPDATE SET
    {_SEP.join(updates)}
),"""


def _build(source: str) -> str:
    return f"""
WITH r AS MATERIALIZED (
  SELECT rr.series_id, rr.ts_us / 1000000 AS sec, rr.calls, rr.errors, rr.latency_ms, rr.ttft_ms, rr.tokens_in,
    rr.tokens_out, rr.reasoning_tokens, rr.cost_nano, rr.energy_wh, rr.cache_hits
  {source}
),
d_1s AS MATERIALIZED (
  SELECT series_id, sec AS bucket,
    {_DELTAS}
  FROM r GROUP BY 1, 2
),
k_1s AS (
  SELECT series_id, sec AS bucket, 0 AS kind, tw_bin(latency_ms) AS bin, sum(calls)::bigint AS n FROM r GROUP BY 1, 2, 4
  UNION ALL
  SELECT series_id, sec, 1, tw_bin(ttft_ms), sum(calls)::bigint FROM r WHERE ttft_ms IS NOT NULL GROUP BY 1, 2, 4
),{_series_upsert()}
dirty AS (
  -- DO UPDATE (not NOTHING) takes the row lock: a compactor rebuilding this minute waits
  -- for our commit, or we wait for its, so no change is missed (see compact.py).
  INSERT INTO rollup_dirty AS t (minute, touches)
  SELECT DISTINCT bucket - bucket % 60, 1 FROM d_1s ORDER BY 1
  ON CONFLICT (minute) DO UPDATE SET touches = t.touches + 1
)
SELECT count(*), coalesce(sum(calls), 0) FROM r"""


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
