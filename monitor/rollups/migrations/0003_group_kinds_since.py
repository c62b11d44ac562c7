"""From which bucket on each group kind has rollups of its own (``rollup_group_kind``).

The pair kinds (tier x service, tier x deployment, model x service, model x deployment,
codes 5-8) came after data may have been rolled up without them. On an install that
already has rollups they start with the next UTC day: every bucket from there on is
built whole with them, and queries over earlier buckets sum the series instead. On a
new install they start at 0.

Frozen here (not generated from the code) so this migration never changes.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE rollup_group_kind (dim smallint PRIMARY KEY, rows_since bigint NOT NULL);
INSERT INTO rollup_group_kind (dim, rows_since) VALUES (0, 0), (1, 0), (2, 0), (3, 0), (4, 0);
INSERT INTO rollup_group_kind (dim, rows_since)
SELECT k.dim, CASE
  WHEN EXISTS (SELECT 1 FROM rollup_series_1s) OR EXISTS (SELECT 1 FROM rollup_series_1m)
  THEN (floor(extract(epoch FROM now()) / 86400)::bigint + 1) * 86400
  ELSE 0 END
FROM (VALUES (5), (6), (7), (8)) AS k(dim);
"""

BACKWARD = "DROP TABLE rollup_group_kind;"


class Migration(migrations.Migration):
    dependencies = [("rollups", "0002_stale_marks_per_project")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
