"""Stale buckets are read at the level below in runs of consecutive buckets: a run, a lone
bucket and the clean buckets between them are each counted once."""

from __future__ import annotations

import time

from django.db import connection
from django.test import Client

from monitor.metrics.engine import report, timeseries
from monitor.metrics.query import Query, Window
from monitor.rollups.schedule import roll_up_pending
from tests.conftest import post_records, record, roll_up_everything

# Minutes (from a base half an hour ago) with a call counted and compacted, and those
# with a second call rolled up afterwards, not compacted: a run of three and a lone one.
COMPACTED = (0, 1, 2, 5, 10)
STALE = (0, 1, 2, 10)


def _calls(base: int, minutes: tuple[int, ...], second: int) -> list[dict[str, object]]:
    return [record(ts=base + 60 * m + second, tier="o3" if m % 2 else "4o") for m in minutes]


def test_it_counts_runs_and_lone_stale_minutes_once_next_to_clean_ones(project, ingest_key):
    now = int(time.time())
    base = (now // 60 - 30) * 60
    assert post_records(Client(), ingest_key, _calls(base, COMPACTED, 7)).status_code == 202
    roll_up_everything()
    # Same second and series as the first call of each stale minute: the peak of the sum is 2.
    assert post_records(Client(), ingest_key, _calls(base, STALE, 7)).status_code == 202
    roll_up_pending()
    with connection.cursor() as cursor:
        cursor.execute("SELECT bucket FROM rollup_stale WHERE project_id = %s AND level_s = 60", [project.pk])
        assert sorted(row[0] for row in cursor.fetchall()) == [base + 60 * m for m in STALE]

    window = Window(base - 3 * 3600, now)
    rows = report(Query(project.pk, window, group_by=()))
    assert rows[0]["requests"] == len(COMPACTED) + len(STALE)
    assert rows[0]["peak_qps"] == 2

    series = timeseries(Query(project.pk, window, group_by=(), step=60))
    per_minute = {p["t"]: p["requests"] for p in series[0]["points"] if p["requests"]}
    expected = {m: COMPACTED.count(m) + STALE.count(m) for m in COMPACTED}
    assert sorted(per_minute.values()) == sorted(expected.values())
    assert len(per_minute) == len(expected)
