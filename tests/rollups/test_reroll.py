"""``manage.py reroll``: rebuilds a range's rollups from raw records, refuses what is gone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from monitor.metrics.engine import report
from monitor.metrics.query import Query, Window
from monitor.metrics.results import ReportRow
from tests.conftest import issue_key, post_records, record, roll_up_everything


def _report(project_id: int, start: int, end: int) -> list[ReportRow]:
    return report(Query(project_id=project_id, window=Window(start, end)))


def _day_bounds(ts: float) -> tuple[int, int]:
    day = datetime.fromtimestamp(ts, UTC).date()
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return start, start + 86_400


def test_it_rebuilds_damaged_rollups_to_the_same_figures(client, project, ingest_key):
    ts = time.time() - 600
    records = [record(ts=ts + n, latency_ms=100 + n, tier=["o3", "4o"][n % 2]) for n in range(40)]
    post_records(client, ingest_key, records)
    roll_up_everything()
    start, end = _day_bounds(ts)
    before = _report(project.pk, start, end)
    with connection.cursor() as cursor:  # damage: counts doubled, hours gone
        cursor.execute("UPDATE rollup_series_1d SET calls = calls * 2")
        cursor.execute("UPDATE rollup_group_1d SET calls = calls * 2")
        cursor.execute("DELETE FROM rollup_group_1h")
    assert _report(project.pk, start, end) != before
    err = StringIO()
    call_command("reroll", "--from", str(start), "--to", str(end), stdout=StringIO(), stderr=err)
    assert _report(project.pk, start, end) == before
    assert "re-rolling" in err.getvalue()  # the progress bar


def test_it_leaves_pending_batches_to_the_workers(client, project, ingest_key):
    ts = time.time() - 600
    post_records(client, ingest_key, [record(ts=ts)] * 3)
    roll_up_everything()
    post_records(client, ingest_key, [record(ts=ts)] * 2)  # not rolled up yet
    start, end = _day_bounds(ts)
    call_command("reroll", "--from", str(start), "--to", str(end), stdout=StringIO(), stderr=StringIO())
    assert _report(project.pk, start, end)[0]["requests"] == 3
    roll_up_everything()
    assert _report(project.pk, start, end)[0]["requests"] == 5


def test_it_can_rebuild_one_project_only(client, project, other_project, ingest_key):
    ts = time.time() - 600
    post_records(client, ingest_key, [record(ts=ts)] * 3)
    post_records(client, issue_key(other_project), [record(ts=ts)] * 4)
    roll_up_everything()
    with connection.cursor() as cursor:
        # Damage both projects' per-second rows (the coarser levels are rebuilt from them).
        cursor.execute("UPDATE rollup_series_1s SET calls = calls + 100")
        cursor.execute(
            "INSERT INTO rollup_stale SELECT DISTINCT s.project_id, r.bucket - r.bucket % 60, 60, 1, now(), now() "
            "FROM rollup_series_1s r JOIN catalogue_series s ON s.id = r.series_id"
        )
    roll_up_everything()
    start, end = _day_bounds(ts)
    call_command(
        "reroll", "--from", str(start), "--to", str(end), "--project", "acme", stdout=StringIO(), stderr=StringIO()
    )
    assert _report(project.pk, start, end)[0]["requests"] == 3
    assert _report(other_project.pk, start, end)[0]["requests"] == 104  # untouched


def test_it_refuses_a_range_whose_raw_records_are_gone(project, settings):
    long_ago = datetime.now(UTC) - timedelta(days=settings.RAW_RETENTION_DAYS + 30)
    with pytest.raises(CommandError, match="gone"):
        call_command("reroll", "--from", long_ago.isoformat(), "--to", (long_ago + timedelta(hours=1)).isoformat())


def test_it_refuses_a_backwards_range(project):
    with pytest.raises(CommandError, match="before"):
        call_command("reroll", "--from", "2000", "--to", "1000")


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_day_whose_per_second_rollups_are_gone(project, settings):
    from monitor.rollups.retention import SECOND_PARTITIONS
    from monitor.store.partitions import ensure_partitions

    day = datetime.now(UTC).date() - timedelta(days=settings.FINE_RETENTION_DAYS + 2)
    ensure_partitions(day, day)  # raw records kept (a batch pending, say), seconds dropped
    SECOND_PARTITIONS[0].drop_older_than(day + timedelta(days=1))
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    with pytest.raises(CommandError, match="per-second rollups"):
        call_command("reroll", "--from", start.isoformat(), "--to", (start + timedelta(hours=1)).isoformat())
