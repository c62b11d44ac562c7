"""The partitioned raw record table and its first daily partitions."""

from typing import Any

from django.db import migrations

# Frozen here (not imported from monitor.store.raw) so this migration never changes.
CREATE_RAW_RECORDS = """
CREATE TABLE raw_records (
  ts_us bigint NOT NULL,
  batch_id bigint NOT NULL,
  latency_ms double precision NOT NULL,
  ttft_ms double precision,
  tokens_in bigint,
  tokens_out bigint,
  reasoning_tokens bigint,
  cost_nano bigint,
  energy_wh double precision,
  series_id integer NOT NULL,
  calls integer NOT NULL,
  errors integer NOT NULL,
  cache_hits integer,
  window_s integer,
  error_type text
) PARTITION BY RANGE (ts_us)
"""


def make_partitions(apps: Any, schema_editor: Any) -> None:
    from monitor.store.partitions import ensure_current_partitions

    ensure_current_partitions()


class Migration(migrations.Migration):
    dependencies = [("store", "0001_initial")]

    operations = [
        migrations.RunSQL(CREATE_RAW_RECORDS, reverse_sql="DROP TABLE raw_records"),
        migrations.RunPython(make_partitions, migrations.RunPython.noop),
    ]
