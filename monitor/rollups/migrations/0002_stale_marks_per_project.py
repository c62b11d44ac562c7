"""Stale marks per project and level (``rollup_stale``) instead of one global set of dirty minutes,
and indexes for per-project compaction.

Frozen here (not generated from the code) so this migration never changes.
"""

from django.db import migrations

FORWARD = """
-- Nearest-rank p50, p95, p99 of a sketch (bins sorted ascending): the value of the first bin
-- whose running count reaches ceil(q * n), as monitor.rollups.sketch.quantiles does.
-- A loop over the arrays: four times faster than window functions over the unnested bins.
CREATE FUNCTION tw_quantiles(bins integer[], counts bigint[]) RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  total bigint := 0;
  seen bigint := 0;
  ranks bigint[];
  answer double precision[] := '{}';
  q integer := 1;
  i integer;
BEGIN
  IF bins IS NULL OR cardinality(bins) = 0 THEN
    RETURN ARRAY[NULL, NULL, NULL]::double precision[];
  END IF;
  FOR i IN 1 .. cardinality(counts) LOOP
    total := total + counts[i];
  END LOOP;
  ranks := ARRAY[greatest(1, ceil(0.5 * total)), greatest(1, ceil(0.95 * total)), greatest(1, ceil(0.99 * total))];
  FOR i IN 1 .. cardinality(bins) LOOP
    seen := seen + counts[i];
    WHILE q <= 3 AND seen >= ranks[q] LOOP
      answer := answer || tw_bin_value(bins[i]);
      q := q + 1;
    END LOOP;
    EXIT WHEN q > 3;
  END LOOP;
  RETURN answer;
END
$$;

CREATE TABLE rollup_stale (
  project_id integer NOT NULL,
  bucket bigint NOT NULL,
  level_s integer NOT NULL,
  touches bigint NOT NULL,
  first_at timestamptz NOT NULL,
  touched_at timestamptz NOT NULL,
  PRIMARY KEY (project_id, bucket, level_s)
);
-- A dirty minute was every project's: mark it for each (a rebuild of a minute without data is empty).
INSERT INTO rollup_stale (project_id, bucket, level_s, touches, first_at, touched_at)
SELECT p.id, d.minute, 60, 1, now(), now() FROM rollup_dirty d CROSS JOIN projects_project p;
DROP TABLE rollup_dirty;

-- Compaction reads and replaces one project's rows: series by (series_id, bucket), their
-- primary keys; groups by (project_id, bucket).
DROP INDEX rollup_series_1s_bucket;
DROP INDEX rollup_series_1m_bucket;
DROP INDEX rollup_series_1h_bucket;
DROP INDEX rollup_series_1d_bucket;
DROP INDEX rollup_group_1m_bucket;
DROP INDEX rollup_group_1h_bucket;
DROP INDEX rollup_group_1d_bucket;
CREATE INDEX rollup_group_1m_project_bucket ON rollup_group_1m (project_id, bucket);
CREATE INDEX rollup_group_1h_project_bucket ON rollup_group_1h (project_id, bucket);
CREATE INDEX rollup_group_1d_project_bucket ON rollup_group_1d (project_id, bucket);
"""

BACKWARD = """
DROP FUNCTION tw_quantiles(integer[], bigint[]);
CREATE TABLE rollup_dirty (minute bigint PRIMARY KEY, touches bigint NOT NULL);
INSERT INTO rollup_dirty (minute, touches) SELECT DISTINCT bucket, 1 FROM rollup_stale WHERE level_s = 60;
DROP TABLE rollup_stale;
DROP INDEX rollup_group_1m_project_bucket;
DROP INDEX rollup_group_1h_project_bucket;
DROP INDEX rollup_group_1d_project_bucket;
CREATE INDEX rollup_series_1s_bucket ON rollup_series_1s (bucket);
CREATE INDEX rollup_series_1m_bucket ON rollup_series_1m (bucket);
CREATE INDEX rollup_series_1h_bucket ON rollup_series_1h (bucket);
CREATE INDEX rollup_series_1d_bucket ON rollup_series_1d (bucket);
CREATE INDEX rollup_group_1m_bucket ON rollup_group_1m (bucket);
CREATE INDEX rollup_group_1h_bucket ON rollup_group_1h (bucket);
CREATE INDEX rollup_group_1d_bucket ON rollup_group_1d (bucket);
"""


class Migration(migrations.Migration):
    dependencies = [("rollups", "0001_initial"), ("projects", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
