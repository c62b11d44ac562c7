"""Batches know whether they are live, and the outbox is queued per project: live first, then history."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("store", "0004_batch_rollup_error")]

    operations = [
        migrations.AddField(model_name="ingestbatch", name="live", field=models.BooleanField(default=True)),
        # Claims take one project's oldest pending live (or history) batches; the scheduler
        # skip-scans it for the projects that have some.
        migrations.RunSQL(
            "CREATE INDEX store_ingestbatch_queue ON store_ingestbatch (live, project_id, id) "
            "WHERE rolled_up_at IS NULL AND rollup_error IS NULL",
            reverse_sql="DROP INDEX store_ingestbatch_queue",
        ),
        migrations.RunSQL(
            "DROP INDEX store_ingestbatch_pending",
            reverse_sql="CREATE INDEX store_ingestbatch_pending ON store_ingestbatch (id) WHERE rolled_up_at IS NULL",
        ),
    ]
