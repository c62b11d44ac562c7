"""A batch the database refuses to roll up is set aside; it cannot stall every other batch."""

from __future__ import annotations

import time

from django.db import connection

from monitor.ingest.backlog import pending_records
from monitor.metrics.engine import report
from monitor.metrics.query import Query, Window
from monitor.store.models import IngestBatch
from tests.conftest import post_records, record, roll_up_everything


def _poison(batch_id: int) -> None:
    """latency × calls beyond double precision: the rollup's sum overflows."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE raw_records SET latency_ms = 1e308, calls = 1000 WHERE batch_id = %s", [batch_id])


def test_it_sets_aside_a_batch_that_cannot_be_rolled_up_and_counts_the_rest(client, project, ingest_key):
    ts = time.time() - 120
    post_records(client, ingest_key, [record(ts=ts, service="first")])
    poisoned = IngestBatch.objects.latest("id").pk
    _poison(poisoned)
    post_records(client, ingest_key, [record(ts=ts + 1, service="second"), record(ts=ts + 2, service="second")])

    roll_up_everything()

    batches = {b.pk: b for b in IngestBatch.objects.all()}
    assert batches[poisoned].rolled_up_at is None
    assert "out of range" in (batches[poisoned].rollup_error or "")
    assert all(b.rolled_up_at is not None for pk, b in batches.items() if pk != poisoned)
    rows = report(Query(project_id=project.pk, window=Window(int(ts) - 60, int(ts) + 60), group_by=("service",)))
    assert {row["labels"]["service"]: row["requests"] for row in rows} == {"second": 2}


def test_a_set_aside_batch_does_not_count_towards_the_backlog(client, project, ingest_key):
    post_records(client, ingest_key, [record(), record()])
    _poison(IngestBatch.objects.latest("id").pk)
    roll_up_everything()
    assert pending_records() == 0
