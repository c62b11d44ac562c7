"""The SQL statements that roll a set of one project's ingest batches up into the per-second rollups.

PostgreSQL does the work where the rows are: it reads the batches' raw rows once,
bins latencies into sketches, and upserts a row per series and second. Every
write is additive (counts and sums add, sketches merge bin by bin), so batches can be
rolled up in any order, by any number of workers; each INSERT sorts its rows by
key, so concurrent workers lock rows in one order.

A second's sketch is sorted and de-duplicated by bin like every other. Most seconds of a
sparse backfill hold one call: their sketch is built as it comes, and only seconds with
several calls are merged bin by bin (grouping every second's bins cost a third of the
statement for sparse history).

The minutes the statement touched are returned, and marked stale by ``MARK_SQL`` as
the transaction's last statement: the row locks a mark takes are then held only
until the commit, so two workers rolling up the same project's history (whose
batches touch the same minutes) do not queue behind each other's whole claim.
"""

from __future__ import annotations

from .levels import ADDITIVE, SECOND
from .stale import STALE_TABLE

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
        "array_agg(tw_bin(latency_ms)) AS lat_bins",
        "array_agg(calls::bigint) AS lat_counts",
        "coalesce(array_agg(tw_bin(ttft_ms)) FILTER (WHERE ttft_ms IS NOT NULL), '{}') AS ttft_bins",
        "coalesce(array_agg(calls::bigint) FILTER (WHERE ttft_ms IS NOT NULL), '{}') AS ttft_counts",
    ]
)

_SKETCHES = ("lat", "ttft")
_COLUMNS = ["series_id", "bucket", *ADDITIVE, "latency_max", "peak_calls"] + [
    f"{s}_{part}" for s in _SKETCHES for part in ("bins", "counts")
]


def _deduplicated(sketch: str, part: str) -> str:
    """A second's bins (or their counts) merged by bin; as they are when the second had one call."""
    column = f"d.{sketch}_{part}"
    merged = (
        f"(SELECT array_agg({'b' if part == 'bins' else 'c'} ORDER BY b) FROM (SELECT b, sum(c)::bigint AS c "
        f"FROM unnest(d.{sketch}_bins, d.{sketch}_counts) AS u(b, c) GROUP BY b) AS m)"
    )
    # CASE evaluates the subquery only for the rows that take its branch.
    return f"CASE WHEN cardinality(d.{sketch}_bins) > 1 THEN {merged} ELSE {column} END"


_VALUES = [f"d.{c}" for c in ("series_id", "bucket", *ADDITIVE, "latency_max", "calls")] + [
    _deduplicated(s, part) for s in _SKETCHES for part in ("bins", "counts")
]
_UPDATES = [
    *(f"{c} = t.{c} + EXCLUDED.{c}" for c in ADDITIVE),
    "latency_max = GREATEST(t.latency_max, EXCLUDED.latency_max)",
    "peak_calls = t.peak_calls + EXCLUDED.peak_calls",  # a second's peak is its calls
    *(
        f"({s}_bins, {s}_counts) = (SELECT bins, counts FROM "
        f"tw_sketch_add(t.{s}_bins, t.{s}_counts, EXCLUDED.{s}_bins, EXCLUDED.{s}_counts))"
        for s in _SKETCHES
    ),
]


def _build(source: str) -> str:
    return f"""
WITH r AS MATERIALIZED (
  SELECT rr.series_id, rr.ts_us / 1000000 AS sec, rr.calls, rr.errors, rr.latency_ms, rr.ttft_ms, rr.tokens_in,
    rr.tokens_out, rr.reasoning_tokens, rr.cost_nano, rr.energy_wh, rr.cache_hits
  {source}
),
d AS MATERIALIZED (
  SELECT series_id, sec AS bucket,
    {_DELTAS}
  FROM r GROUP BY 1, 2
),
up AS (
  INSERT INTO {SECOND.series_table} AS t ({", ".join(_COLUMNS)})
  SELECT {", ".join(_VALUES)} FROM d ORDER BY d.series_id, d.bucket
  ON CONFLICT (series_id, bucket) DO UPDATE SET
    {_SEP.join(_UPDATES)}
)
SELECT (SELECT count(*) FROM r), (SELECT coalesce(sum(calls), 0) FROM r),
  (SELECT coalesce(array_agg(minute), '{{}}') FROM (SELECT bucket - bucket % 60 AS minute FROM d GROUP BY 1) AS m)"""


# psycopg placeholders are %(name)s: the modulo operator must be written %%.
# The claimed batches' rows (their times bound the partitions to read).
ROLLUP_SQL = _build(
    "FROM raw_records rr WHERE rr.batch_id = ANY(%(batches)s) AND rr.ts_us >= %(low)s AND rr.ts_us <= %(high)s"
).replace(" % ", " %% ")
# A time range rebuilt from scratch: only batches already counted (the rest will be
# counted by the rollup worker, on top), of one project.
REROLL_SQL = _build(
    "FROM raw_records rr JOIN store_ingestbatch b ON b.id = rr.batch_id AND b.rolled_up_at IS NOT NULL "
    "WHERE rr.ts_us >= %(low)s AND rr.ts_us < %(high)s AND b.project_id = %(project)s"
).replace(" % ", " %% ")

# Marks the minutes a claim touched (see stale.py), in key order so workers lock them in one order.
MARK_SQL = f"""
INSERT INTO {STALE_TABLE} AS t (project_id, bucket, level_s, touches, first_at, touched_at)
SELECT %(project)s, m, 60, 1, now(), now() FROM unnest(%(minutes)s::bigint[]) AS m ORDER BY m
ON CONFLICT (project_id, bucket, level_s) DO UPDATE SET touches = t.touches + 1, touched_at = now()
"""
