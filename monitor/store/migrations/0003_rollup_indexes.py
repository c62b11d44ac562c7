"""Indexes the rollup worker reads through: pending batches, and a batch's raw rows."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("store", "0002_raw_records")]

    operations = [
        # The outbox: batches still to be counted, oldest first.
        migrations.RunSQL(
            "CREATE INDEX store_ingestbatch_pending ON store_ingestbatch (id) WHERE rolled_up_at IS NULL",
            reverse_sql="DROP INDEX store_ingestbatch_pending",
        ),
        # A batch's rows, in whichever daily partitions they landed (on every partition).
        migrations.RunSQL(
            "CREATE INDEX raw_records_batch_id ON raw_records (batch_id)",
            reverse_sql="DROP INDEX raw_records_batch_id",
        ),
    ]
