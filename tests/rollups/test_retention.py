"""Per-second rollups: kept FINE_RETENTION_DAYS, and longer for a day with batches still to
count or minutes still to rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from monitor.rollups.retention import SECOND_PARTITIONS, drop_expired_second_partitions
from monitor.store.models import IngestBatch
from monitor.store.partitions import day_start_us

TABLE = SECOND_PARTITIONS[0]


def _names() -> set[str]:
    return {p.name for p in TABLE.existing()}


@pytest.fixture
def old_day(db, settings):
    day = datetime.now(UTC).date() - timedelta(days=settings.FINE_RETENTION_DAYS + 3)
    TABLE.ensure(day, day)
    return day


@pytest.mark.django_db(transaction=True)
def test_a_day_past_the_fine_retention_is_dropped(old_day):
    assert TABLE.name(old_day) in drop_expired_second_partitions()
    assert TABLE.name(old_day) not in _names()


@pytest.mark.django_db(transaction=True)
def test_a_day_with_a_batch_still_to_roll_up_keeps_its_seconds(project, old_day):
    start = day_start_us(old_day)
    batch = IngestBatch.objects.create(
        project=project, records=1, calls=1, min_ts_us=start + 10_000_000, max_ts_us=start + 10_000_000
    )
    assert TABLE.name(old_day) not in drop_expired_second_partitions()
    assert TABLE.name(old_day) in _names()
    batch.rolled_up_at = datetime.now(UTC)
    batch.save()
    assert TABLE.name(old_day) in drop_expired_second_partitions()


@pytest.mark.django_db(transaction=True)
def test_a_day_with_a_minute_still_to_rebuild_keeps_its_seconds(old_day):
    minute = int(datetime(old_day.year, old_day.month, old_day.day, 23, 59, tzinfo=UTC).timestamp())
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rollup_stale (project_id, bucket, level_s, touches, first_at, touched_at) "
            "VALUES (1, %s, 60, 1, now(), now())",
            [minute],
        )
    assert TABLE.name(old_day) not in drop_expired_second_partitions()
    assert TABLE.name(old_day) in _names()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM rollup_stale WHERE bucket = %s", [minute])
    assert TABLE.name(old_day) in drop_expired_second_partitions()


@pytest.mark.django_db(transaction=True)
def test_days_within_the_fine_retention_are_kept(settings):
    kept = datetime.now(UTC).date() - timedelta(days=settings.FINE_RETENTION_DAYS - 1)
    TABLE.ensure(kept, kept)
    drop_expired_second_partitions()
    assert TABLE.name(kept) in _names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = %s", [TABLE.name(kept)])
        assert cursor.fetchone()[0] == 1
