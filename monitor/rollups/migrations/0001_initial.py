"""Rollup tables at four resolutions, per series and (from a minute up) per group of one
dimension, and the SQL functions that bin values into sketches and merge sketches.

Frozen here (not generated from the code) so this migration never changes.
"""

from typing import Any

from django.db import migrations

FUNCTIONS = """
-- The sketch bin of a value: ceil(log_gamma(x)), gamma = 1.01 / 0.99; zero has its own bin.
-- Not STRICT (NULL gives NULL anyway): a STRICT SQL function is not inlined, and
-- calling it per row would cost more than the rest of the rollup.
CREATE FUNCTION tw_bin(x double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN x <= 0 THEN -2147483648 ELSE ceil(ln(x) / 0.020000666706669435)::integer END $$;

-- A bin's representative value, within 1 % of every value in the bin.
CREATE FUNCTION tw_bin_value(b integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN b = -2147483648 THEN 0 ELSE 2 * power(1.01::float8 / 0.99, b) / (1.01::float8 / 0.99 + 1) END $$;

-- Two sketches as (bins, counts) arrays, added bin by bin.
CREATE FUNCTION tw_sketch_add(b1 integer[], c1 bigint[], b2 integer[], c2 bigint[], OUT bins integer[], OUT counts bigint[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(array_agg(b ORDER BY b), '{}'), coalesce(array_agg(c ORDER BY b), '{}')
  FROM (
    SELECT b, sum(c)::bigint AS c
    FROM (SELECT * FROM unnest(b1, c1) UNION ALL SELECT * FROM unnest(b2, c2)) AS u(b, c)
    GROUP BY b
  ) AS merged
$$;
"""

TABLES = """
-- Minutes whose per-second rollups changed since the coarser levels were rebuilt.
CREATE TABLE rollup_dirty (
  minute bigint PRIMARY KEY,
  touches bigint NOT NULL
);

CREATE TABLE rollup_series_1s (
  series_id integer NOT NULL,
  bucket bigint NOT NULL,
  calls bigint NOT NULL,
  errors bigint NOT NULL,
  latency_sum double precision NOT NULL,
  latency_max double precision NOT NULL,
  ttft_calls bigint NOT NULL,
  ttft_sum double precision NOT NULL,
  tokens_in numeric NOT NULL,
  tokens_in_calls bigint NOT NULL,
  tokens_out numeric NOT NULL,
  tokens_out_calls bigint NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost_nano numeric NOT NULL,
  cost_calls bigint NOT NULL,
  cache_hits bigint NOT NULL,
  cache_calls bigint NOT NULL,
  energy_wh double precision NOT NULL,
  energy_calls bigint NOT NULL,
  peak_calls bigint NOT NULL,
  lat_bins integer[] NOT NULL,
  lat_counts bigint[] NOT NULL,
  ttft_bins integer[] NOT NULL,
  ttft_counts bigint[] NOT NULL,
  -- The nearest-rank percentiles of this row's own sketches (NULL at 1 s): a time-series
  -- point that is exactly one row reads them instead of merging sketches.
  lat_p50 double precision,
  lat_p95 double precision,
  lat_p99 double precision,
  ttft_p50 double precision,
  ttft_p95 double precision,
  ttft_p99 double precision,
  PRIMARY KEY (series_id, bucket)
) PARTITION BY RANGE (bucket);

CREATE TABLE rollup_series_1m (
  series_id integer NOT NULL,
  bucket bigint NOT NULL,
  calls bigint NOT NULL,
  errors bigint NOT NULL,
  latency_sum double precision NOT NULL,
  latency_max double precision NOT NULL,
  ttft_calls bigint NOT NULL,
  ttft_sum double precision NOT NULL,
  tokens_in numeric NOT NULL,
  tokens_in_calls bigint NOT NULL,
  tokens_out numeric NOT NULL,
  tokens_out_calls bigint NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost_nano numeric NOT NULL,
  cost_calls bigint NOT NULL,
  cache_hits bigint NOT NULL,
  cache_calls bigint NOT NULL,
  energy_wh double precision NOT NULL,
  energy_calls bigint NOT NULL,
  peak_calls bigint NOT NULL,
  lat_bins integer[] NOT NULL,
  lat_counts bigint[] NOT NULL,
  ttft_bins integer[] NOT NULL,
  ttft_counts bigint[] NOT NULL,
  -- The nearest-rank percentiles of this row's own sketches (NULL at 1 s): a time-series
  -- point that is exactly one row reads them instead of merging sketches.
  lat_p50 double precision,
  lat_p95 double precision,
  lat_p99 double precision,
  ttft_p50 double precision,
  ttft_p95 double precision,
  ttft_p99 double precision,
  PRIMARY KEY (series_id, bucket)
);

CREATE TABLE rollup_group_1m (
  project_id integer NOT NULL,
  dim smallint NOT NULL,
  value text NOT NULL,
  bucket bigint NOT NULL,
  calls bigint NOT NULL,
  errors bigint NOT NULL,
  latency_sum double precision NOT NULL,
  latency_max double precision NOT NULL,
  ttft_calls bigint NOT NULL,
  ttft_sum double precision NOT NULL,
  tokens_in numeric NOT NULL,
  tokens_in_calls bigint NOT NULL,
  tokens_out numeric NOT NULL,
  tokens_out_calls bigint NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost_nano numeric NOT NULL,
  cost_calls bigint NOT NULL,
  cache_hits bigint NOT NULL,
  cache_calls bigint NOT NULL,
  energy_wh double precision NOT NULL,
  energy_calls bigint NOT NULL,
  peak_calls bigint NOT NULL,
  lat_bins integer[] NOT NULL,
  lat_counts bigint[] NOT NULL,
  ttft_bins integer[] NOT NULL,
  ttft_counts bigint[] NOT NULL,
  -- The nearest-rank percentiles of this row's own sketches (NULL at 1 s): a time-series
  -- point that is exactly one row reads them instead of merging sketches.
  lat_p50 double precision,
  lat_p95 double precision,
  lat_p99 double precision,
  ttft_p50 double precision,
  ttft_p95 double precision,
  ttft_p99 double precision,
  -- stability: the sum of the error rates of the minutes with calls, and their number
  stab_sum double precision NOT NULL,
  stab_minutes bigint NOT NULL,
  PRIMARY KEY (project_id, dim, value, bucket)
);

CREATE TABLE rollup_series_1h (
  series_id integer NOT NULL,
  bucket bigint NOT NULL,
  calls bigint NOT NULL,
  errors bigint NOT NULL,
  latency_sum double precision NOT NULL,
  latency_max double precision NOT NULL,
  ttft_calls bigint NOT NULL,
  ttft_sum double precision NOT NULL,
  tokens_in numeric NOT NULL,
  tokens_in_calls bigint NOT NULL,
  tokens_out numeric NOT NULL,
  tokens_out_calls bigint NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost_nano numeric NOT NULL,
  cost_calls bigint NOT NULL,
  cache_hits bigint NOT NULL,
  cache_calls bigint NOT NULL,
  energy_wh double precision NOT NULL,
  energy_calls bigint NOT NULL,
  peak_calls bigint NOT NULL,
  lat_bins integer[] NOT NULL,
  lat_counts bigint[] NOT NULL,
  ttft_bins integer[] NOT NULL,
  ttft_counts bigint[] NOT NULL,
  -- The nearest-rank percentiles of this row's own sketches (NULL at 1 s): a time-series
  -- point that is exactly one row reads them instead of merging sketches.
  lat_p50 double precision,
  lat_p95 double precision,
  lat_p99 double precision,
  ttft_p50 double precision,
  ttft_p95 double precision,
  ttft_p99 double precision,
  PRIMARY KEY (series_id, bucket)
);

CREATE TABLE rollup_group_1h (
  project_id integer NOT NULL,
  dim smallint NOT NULL,
  value text NOT NULL,
  bucket bigint NOT NULL,
  calls bigint NOT NULL,
  errors bigint NOT NULL,
  latency_sum double precision NOT NULL,
  latency_max double precision NOT NULL,
  ttft_calls bigint NOT NULL,
  ttft_sum double precision NOT NULL,
  tokens_in numeric NOT NULL,
  tokens_in_calls bigint NOT NULL,
  tokens_out numeric NOT NULL,
  tokens_out_calls bigint NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost_nano numeric NOT NULL,
  cost_calls bigint NOT NULL,
  cache_hits bigint NOT NULL,
  cache_calls bigint NOT NULL,
  energy_wh double precision NOT NULL,
  energy_calls bigint NOT NULL,
  peak_calls bigint NOT NULL,
  lat_bins integer[] NOT NULL,
  lat_counts bigint[] NOT NULL,
  ttft_bins integer[] NOT NULL,
  ttft_counts bigint[] NOT NULL,
  -- The nearest-rank percentiles of this row's own sketches (NULL at 1 s): a time-series
  -- point that is exactly one row reads them instead of merging sketches.
  lat_p50 double precision,
  lat_p95 double precision,
  lat_p99 double precision,
  ttft_p50 double precision,
  ttft_p95 double precision,
  ttft_p99 double precision,
  -- stability: the sum of the error rates of the minutes with calls, and their number
  stab_sum double precision NOT NULL,
  stab_minutes bigint NOT NULL,
  PRIMARY KEY (project_id, dim, value, bucket)
);

CREATE TABLE rollup_series_1d (
  series_id integer NOT NULL,
  bucket bigint NOT NULL,
  calls bigint NOT NULL,
  errors bigint NOT NULL,
  latency_sum double precision NOT NULL,
  latency_max double precision NOT NULL,
  ttft_calls bigint NOT NULL,
  ttft_sum double precision NOT NULL,
  tokens_in numeric NOT NULL,
  tokens_in_calls bigint NOT NULL,
  tokens_out numeric NOT NULL,
  tokens_out_calls bigint NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost_nano numeric NOT NULL,
  cost_calls bigint NOT NULL,
  cache_hits bigint NOT NULL,
  cache_calls bigint NOT NULL,
  energy_wh double precision NOT NULL,
  energy_calls bigint NOT NULL,
  peak_calls bigint NOT NULL,
  lat_bins integer[] NOT NULL,
  lat_counts bigint[] NOT NULL,
  ttft_bins integer[] NOT NULL,
  ttft_counts bigint[] NOT NULL,
  -- The nearest-rank percentiles of this row's own sketches (NULL at 1 s): a time-series
  -- point that is exactly one row reads them instead of merging sketches.
  lat_p50 double precision,
  lat_p95 double precision,
  lat_p99 double precision,
  ttft_p50 double precision,
  ttft_p95 double precision,
  ttft_p99 double precision,
  PRIMARY KEY (series_id, bucket)
);

CREATE TABLE rollup_group_1d (
  project_id integer NOT NULL,
  dim smallint NOT NULL,
  value text NOT NULL,
  bucket bigint NOT NULL,
  calls bigint NOT NULL,
  errors bigint NOT NULL,
  latency_sum double precision NOT NULL,
  latency_max double precision NOT NULL,
  ttft_calls bigint NOT NULL,
  ttft_sum double precision NOT NULL,
  tokens_in numeric NOT NULL,
  tokens_in_calls bigint NOT NULL,
  tokens_out numeric NOT NULL,
  tokens_out_calls bigint NOT NULL,
  reasoning_tokens numeric NOT NULL,
  cost_nano numeric NOT NULL,
  cost_calls bigint NOT NULL,
  cache_hits bigint NOT NULL,
  cache_calls bigint NOT NULL,
  energy_wh double precision NOT NULL,
  energy_calls bigint NOT NULL,
  peak_calls bigint NOT NULL,
  lat_bins integer[] NOT NULL,
  lat_counts bigint[] NOT NULL,
  ttft_bins integer[] NOT NULL,
  ttft_counts bigint[] NOT NULL,
  -- The nearest-rank percentiles of this row's own sketches (NULL at 1 s): a time-series
  -- point that is exactly one row reads them instead of merging sketches.
  lat_p50 double precision,
  lat_p95 double precision,
  lat_p99 double precision,
  ttft_p50 double precision,
  ttft_p95 double precision,
  ttft_p99 double precision,
  -- stability: the sum of the error rates of the minutes with calls, and their number
  stab_sum double precision NOT NULL,
  stab_minutes bigint NOT NULL,
  PRIMARY KEY (project_id, dim, value, bucket)
);
"""

# Compaction reads every series' rows of a time span.
INDEXES = """
CREATE INDEX rollup_series_1s_bucket ON rollup_series_1s (bucket);
CREATE INDEX rollup_series_1m_bucket ON rollup_series_1m (bucket);
CREATE INDEX rollup_series_1h_bucket ON rollup_series_1h (bucket);
CREATE INDEX rollup_series_1d_bucket ON rollup_series_1d (bucket);
CREATE INDEX rollup_group_1m_bucket ON rollup_group_1m (bucket);
CREATE INDEX rollup_group_1h_bucket ON rollup_group_1h (bucket);
CREATE INDEX rollup_group_1d_bucket ON rollup_group_1d (bucket);
"""


def make_partitions(apps: Any, schema_editor: Any) -> None:
    from monitor.rollups.retention import ensure_second_partitions

    ensure_second_partitions()


class Migration(migrations.Migration):
    dependencies = [("store", "0003_rollup_indexes"), ("catalogue", "0002_restrict_series_dimensions")]

    operations = [
        migrations.RunSQL(
            FUNCTIONS,
            reverse_sql=(
                "DROP FUNCTION tw_sketch_add(integer[], bigint[], integer[], bigint[]); "
                "DROP FUNCTION tw_bin_value(integer); DROP FUNCTION tw_bin(double precision)"
            ),
        ),
        migrations.RunSQL(
            TABLES,
            reverse_sql="DROP TABLE rollup_dirty; DROP TABLE rollup_series_1s; DROP TABLE rollup_series_1m; DROP TABLE rollup_series_1h; DROP TABLE rollup_series_1d; DROP TABLE rollup_group_1m; DROP TABLE rollup_group_1h; DROP TABLE rollup_group_1d",
        ),
        migrations.RunSQL(INDEXES, reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(make_partitions, migrations.RunPython.noop),
    ]
