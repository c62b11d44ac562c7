"""Daily raw partitions: made ahead, bounded by the UTC day, dropped only once rolled up; key expiry; the beat task."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings as django_settings
from django.db import connection, connections
from django.utils import timezone

import monitor
from monitor.projects.models import Project
from monitor.store.models import IngestBatch
from monitor.store.partitions import (
    day_start_us,
    drop_expired_partitions,
    ensure_current_partitions,
    ensure_partitions,
    existing_partitions,
    partition_name,
)
from monitor.store.raw import RAW_TABLE
from monitor.store.tasks import expire_idempotency_keys, maintain_raw_store
from tests.conftest import post_records, record
from tests.ingest.helpers import counts

US = 1_000_000
# A fixed instant far from the migration's partitions, so every partition here is new.
FUTURE_NOW = datetime(2031, 3, 10, 23, 59, 30, tzinfo=UTC)


def _names() -> set[str]:
    return {p.name for p in existing_partitions()}


def _unix_us(day: date) -> int:
    """Start of a UTC day in Unix microseconds, computed without the code under test."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * US


def _bounds(name: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s", [name])
        row = cursor.fetchone()
    assert row is not None, f"no partition {name}"
    match = re.fullmatch(r"FOR VALUES FROM \('(-?\d+)'\) TO \('(-?\d+)'\)", row[0])
    assert match is not None, row[0]
    return int(match[1]), int(match[2])


def _partition_of(ts_us: int) -> str:
    """Which partition PostgreSQL routes a row with this ts_us to (the row is rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RAW_TABLE} (ts_us, batch_id, latency_ms, series_id, calls, errors) "
            "VALUES (%s, 0, 1.0, 0, 1, 0) RETURNING tableoid::regclass::text",
            [ts_us],
        )
        return str(cursor.fetchone()[0])


def _batch(project: Project, first_us: int, last_us: int, *, rolled_up: bool, **fields: Any) -> IngestBatch:
    return IngestBatch.objects.create(
        project=project,
        records=1,
        calls=1,
        min_ts_us=first_us,
        max_ts_us=last_us,
        rolled_up_at=timezone.now() if rolled_up else None,
        **fields,
    )


# --- making partitions -----------------------------------------------------------------


def test_current_partitions_span_the_retention_behind_and_the_days_ahead(db, settings):
    created = ensure_current_partitions(FUTURE_NOW)
    today = FUTURE_NOW.date()
    first = today - timedelta(days=settings.RAW_RETENTION_DAYS)
    last = today + timedelta(days=settings.RAW_PARTITIONS_AHEAD_DAYS)
    wanted = [partition_name(first + timedelta(days=n)) for n in range((last - first).days + 1)]
    assert created == wanted
    assert set(wanted) <= _names()
    # Nothing outside that span was made.
    assert partition_name(first - timedelta(days=1)) not in _names()
    assert partition_name(last + timedelta(days=1)) not in _names()


def test_making_current_partitions_is_idempotent(db):
    ensure_current_partitions(FUTURE_NOW)
    before = _names()
    assert ensure_current_partitions(FUTURE_NOW) == []
    assert ensure_current_partitions(FUTURE_NOW + timedelta(seconds=20)) == []
    assert _names() == before


def test_todays_span_exists_without_being_asked(db, settings):
    # The migration made them, and ensure_current_partitions() finds nothing missing.
    today = datetime.now(UTC).date()
    ensure_current_partitions()
    for n in range(-settings.RAW_RETENTION_DAYS, settings.RAW_PARTITIONS_AHEAD_DAYS + 1):
        assert partition_name(today + timedelta(days=n)) in _names()
    assert ensure_current_partitions() == []


def test_only_the_missing_days_are_made(db):
    day = date(2031, 5, 1)
    assert ensure_partitions(day, day) == [partition_name(day)]
    made = ensure_partitions(day - timedelta(days=1), day + timedelta(days=1))
    assert made == [partition_name(day - timedelta(days=1)), partition_name(day + timedelta(days=1))]


def test_a_partition_holds_exactly_one_utc_day_in_unix_microseconds(db):
    day = date(2031, 5, 1)
    ensure_partitions(day - timedelta(days=1), day + timedelta(days=1))
    assert partition_name(day) == f"{RAW_TABLE}_p20310501"
    start, end = _bounds(partition_name(day))
    assert start == _unix_us(day) == 1_935_360_000 * US
    assert end == _unix_us(day + timedelta(days=1)) == start + 86_400 * US
    assert day_start_us(day) == start
    # Neighbours meet without a gap or overlap.
    assert _bounds(partition_name(day - timedelta(days=1)))[1] == start
    assert _bounds(partition_name(day + timedelta(days=1)))[0] == end


def test_rows_land_in_the_partition_of_their_utc_day(db):
    day = date(2031, 5, 1)
    ensure_partitions(day - timedelta(days=1), day + timedelta(days=1))
    start = _unix_us(day)
    assert _partition_of(start) == partition_name(day)
    assert _partition_of(start + 86_400 * US - 1) == partition_name(day)
    assert _partition_of(start - 1) == partition_name(day - timedelta(days=1))
    assert _partition_of(start + 86_400 * US) == partition_name(day + timedelta(days=1))


def test_a_partition_before_the_epoch_has_its_own_day(db):
    day = date(1969, 12, 31)
    ensure_partitions(day, day)
    assert _bounds(partition_name(day)) == (-86_400 * US, 0)


# --- dropping partitions ---------------------------------------------------------------


@pytest.fixture
def old_day(db, settings) -> date:
    """A day older than the retention, with its partition."""
    day = datetime.now(UTC).date() - timedelta(days=settings.RAW_RETENTION_DAYS + 5)
    ensure_partitions(day, day)
    assert partition_name(day) in _names()
    return day


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
def test_an_old_partition_with_an_unrolled_batch_is_kept(project, old_day):
    start = _unix_us(old_day)
    _batch(project, start + 3600 * US, start + 7200 * US, rolled_up=False)
    assert partition_name(old_day) not in drop_expired_partitions()
    assert partition_name(old_day) in _names()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
def test_an_old_partition_is_dropped_once_its_batch_is_rolled_up(project, old_day):
    start = _unix_us(old_day)
    batch = _batch(project, start + 3600 * US, start + 7200 * US, rolled_up=False)
    drop_expired_partitions()
    assert partition_name(old_day) in _names()
    batch.rolled_up_at = timezone.now()
    batch.save()
    assert partition_name(old_day) in drop_expired_partitions()
    assert partition_name(old_day) not in _names()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
def test_a_batch_spanning_several_days_holds_each_of_them(project, old_day):
    start = _unix_us(old_day)
    # From the day before to the day after: the middle day is inside it.
    _batch(project, start - 3600 * US, start + 86_400 * US + 3600 * US, rolled_up=False)
    assert partition_name(old_day) not in drop_expired_partitions()
    assert partition_name(old_day) in _names()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
@pytest.mark.parametrize(
    ("first", "last"),
    [(0, 0), (86_400 * US - 1, 86_400 * US - 1), (-1, 0), (86_400 * US - 1, 86_400 * US)],
    ids=["first-microsecond", "last-microsecond", "ends-at-first", "starts-at-last"],
)
def test_a_batch_touching_the_day_at_its_edges_holds_it(project, old_day, first, last):
    start = _unix_us(old_day)
    _batch(project, start + first, start + last, rolled_up=False)
    assert partition_name(old_day) not in drop_expired_partitions()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
@pytest.mark.parametrize(
    ("first", "last"),
    [(-86_400 * US, -1), (86_400 * US, 2 * 86_400 * US), (-3600 * US, -1)],
    ids=["day-before", "day-after", "ends-just-before"],
)
def test_an_unrolled_batch_of_another_day_does_not_hold_it(project, old_day, first, last):
    start = _unix_us(old_day)
    ensure_partitions(old_day - timedelta(days=1), old_day + timedelta(days=1))
    _batch(project, start + first, start + last, rolled_up=False)
    assert partition_name(old_day) in drop_expired_partitions()
    assert partition_name(old_day) not in _names()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
def test_an_unrolled_batch_of_today_does_not_hold_an_old_partition(project, old_day):
    now_us = int(time.time() * US)
    _batch(project, now_us - 10 * US, now_us, rolled_up=False)
    assert partition_name(old_day) in drop_expired_partitions()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
def test_an_unrolled_batch_of_any_project_holds_the_day(project, other_project, old_day):
    start = _unix_us(old_day)
    _batch(project, start, start + US, rolled_up=True)
    _batch(other_project, start + 60 * US, start + 61 * US, rolled_up=False)
    assert partition_name(old_day) not in drop_expired_partitions()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
def test_partitions_within_the_retention_are_never_dropped(db, settings):
    today = FUTURE_NOW.date()
    ensure_current_partitions(FUTURE_NOW)
    oldest_kept = today - timedelta(days=settings.RAW_RETENTION_DAYS)
    expired = oldest_kept - timedelta(days=1)
    ensure_partitions(expired, expired)
    dropped = drop_expired_partitions(FUTURE_NOW)
    assert partition_name(expired) in dropped
    assert partition_name(oldest_kept) not in dropped
    for n in range(settings.RAW_RETENTION_DAYS + settings.RAW_PARTITIONS_AHEAD_DAYS + 1):
        assert partition_name(oldest_kept + timedelta(days=n)) in _names()


@pytest.mark.django_db(transaction=True)  # DETACH ... CONCURRENTLY needs autocommit
def test_records_posted_today_survive_until_their_batch_is_rolled_up(client, project, ingest_key, settings):
    assert post_records(client, ingest_key, [record(), record()]).status_code == 202
    today = datetime.now(UTC).date()
    later = datetime.now(UTC) + timedelta(days=settings.RAW_RETENTION_DAYS + 2)
    assert partition_name(today) not in drop_expired_partitions(later)
    assert counts(project.pk)["rows"] == 2
    IngestBatch.objects.filter(project=project).update(rolled_up_at=timezone.now())
    assert partition_name(today) in drop_expired_partitions(later)
    assert counts(project.pk)["rows"] == 0


# --- idempotency keys ------------------------------------------------------------------


def test_idempotency_keys_older_than_the_retention_are_cleared(project, settings):
    retention = timedelta(days=settings.RAW_RETENTION_DAYS)
    now_us = int(time.time() * US)
    old = _batch(project, now_us, now_us, rolled_up=True, idempotency_key="old")
    new = _batch(project, now_us, now_us, rolled_up=True, idempotency_key="new")
    keyless = _batch(project, now_us, now_us, rolled_up=True)
    IngestBatch.objects.filter(pk__in=[old.pk, keyless.pk]).update(
        received_at=timezone.now() - retention - timedelta(minutes=1)
    )
    IngestBatch.objects.filter(pk=new.pk).update(received_at=timezone.now() - retention + timedelta(minutes=5))
    assert expire_idempotency_keys() == 1
    assert IngestBatch.objects.get(pk=old.pk).idempotency_key is None
    assert IngestBatch.objects.get(pk=new.pk).idempotency_key == "new"
    assert expire_idempotency_keys() == 0


def test_after_its_key_expires_a_resend_counts_again(client, project, ingest_key, settings):
    headers = {"Idempotency-Key": "nightly-export-42"}
    first = post_records(client, ingest_key, [record()], headers=headers)
    assert first.status_code == 202, first.content
    assert post_records(client, ingest_key, [record()], headers=headers).status_code == 200
    IngestBatch.objects.filter(project=project).update(
        received_at=timezone.now() - timedelta(days=settings.RAW_RETENTION_DAYS, minutes=1)
    )
    assert expire_idempotency_keys() == 1
    again = post_records(client, ingest_key, [record()], headers=headers)
    assert again.status_code == 202, again.content
    assert again.json() == {"accepted": 1}
    assert counts(project.pk) == {"rows": 2, "batches": 2, "series": 1}
    # The new batch holds the key now.
    assert post_records(client, ingest_key, [record()], headers=headers).status_code == 200


def test_a_key_still_within_the_retention_is_kept(client, project, ingest_key, settings):
    headers = {"Idempotency-Key": "recent"}
    assert post_records(client, ingest_key, [record()], headers=headers).status_code == 202
    IngestBatch.objects.filter(project=project).update(
        received_at=timezone.now() - timedelta(days=settings.RAW_RETENTION_DAYS) + timedelta(minutes=5)
    )
    assert expire_idempotency_keys() == 0
    assert post_records(client, ingest_key, [record()], headers=headers).status_code == 200


# --- the beat task, through a real worker -----------------------------------------------


@pytest.fixture
def real_worker() -> Iterator[None]:
    """An in-process Celery worker on the test Redis broker."""

    # The worker thread opens its own database connection: close it after each task,
    # so the test database can be dropped at the end of the session.
    def close_connections(**kwargs: Any) -> None:
        connections.close_all()

    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(monitor.celery_app, perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        task_postrun.disconnect(close_connections)


def _wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"the worker did not get it done within {timeout} s")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_maintenance_task_runs_on_a_real_worker(project, real_worker):
    today = datetime.now(UTC).date()
    ahead = today + timedelta(days=django_settings.RAW_PARTITIONS_AHEAD_DAYS)
    expired = today - timedelta(days=django_settings.RAW_RETENTION_DAYS + 3)
    now_us = int(time.time() * US)
    batch = _batch(project, now_us, now_us, rolled_up=True, idempotency_key="aged")
    IngestBatch.objects.filter(pk=batch.pk).update(
        received_at=timezone.now() - timedelta(days=django_settings.RAW_RETENTION_DAYS, hours=1)
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(ahead)}")
        ensure_partitions(expired, expired)
        assert partition_name(ahead) not in _names()
        assert partition_name(expired) in _names()

        maintain_raw_store.delay()

        def done() -> bool:
            names = _names()
            return (
                partition_name(ahead) in names
                and partition_name(expired) not in names
                and IngestBatch.objects.get(pk=batch.pk).idempotency_key is None
            )

        _wait_for(done)
        start, end = _bounds(partition_name(ahead))
        assert (start, end) == (_unix_us(ahead), _unix_us(ahead + timedelta(days=1)))
    finally:
        # Leave the database as the other tests expect it, whatever happened above.
        ensure_current_partitions()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(expired)}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_task_keeps_an_old_partition_whose_batch_is_not_rolled_up(project, real_worker):
    today = datetime.now(UTC).date()
    held = today - timedelta(days=django_settings.RAW_RETENTION_DAYS + 4)
    free = today - timedelta(days=django_settings.RAW_RETENTION_DAYS + 3)
    start = _unix_us(held)
    _batch(project, start + 60 * US, start + 120 * US, rolled_up=False)
    try:
        ensure_partitions(held, free)
        maintain_raw_store.delay()
        _wait_for(lambda: partition_name(free) not in _names())
        assert partition_name(held) in _names()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(held)}")
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(free)}")


@pytest.mark.django_db(transaction=True)
def test_dropping_a_partition_does_not_hold_up_ingest(live_server, project, ingest_key, old_day):
    import threading

    import httpx
    import orjson
    import psycopg
    from django.db import connection as django_connection

    params = django_connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as reader:
        # A long read of raw_records: a plain DROP would queue every COPY behind it.
        reader.execute("SELECT count(*) FROM raw_records")

        def drop_then_disconnect() -> None:
            drop_expired_partitions()
            django_connection.close()  # this thread's own connection

        dropping = threading.Thread(target=drop_then_disconnect)
        dropping.start()
        time.sleep(0.5)  # the drop is now waiting for the reader
        started = time.monotonic()
        response = httpx.post(
            f"{live_server.url}/api/v1/records",
            content=orjson.dumps({"records": [record()]}),
            headers={"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 202
        assert time.monotonic() - started < 2
        assert dropping.is_alive()
        reader.rollback()
    dropping.join(30)
    assert partition_name(old_day) not in _names()
