"""A query's SQL stays small whatever the stale state: ranges are joined once, never spelled out.

Ten thousand stale minutes over a month (what a random-order backfill leaves behind)
used to turn a 30-day report into a 33 MB statement PostgreSQL refused.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from monitor.metrics.engine import report, timeseries
from monitor.metrics.query import Query, Window
from monitor.projects.models import Project
from tests.conftest import issue_key, post_records, record, roll_up_everything
from tests.readapi.helpers import REPORT, read, rfc

MAX_SQL_BYTES = 20_000
STALE_MINUTES = 10_000
DAYS = 30


def _mark_stale(project: Project, now: int) -> None:
    rng = random.Random(9)
    first_minute = (now - DAYS * 86_400) // 60
    minutes = rng.sample(range(first_minute, now // 60), STALE_MINUTES)
    hours = sorted({m // 60 * 3600 for m in minutes[:2_000]})
    days = sorted({m // 1440 * 86_400 for m in minutes[:50]})
    with connection.cursor() as cursor:
        for level_s, buckets in ((60, [m * 60 for m in minutes]), (3600, hours), (86_400, days)):
            cursor.execute(
                "INSERT INTO rollup_stale (project_id, bucket, level_s, touches, first_at, touched_at) "
                "SELECT %s, b, %s, 1, now(), now() FROM unnest(%s::bigint[]) AS b",
                [project.pk, level_s, buckets],
            )


@contextmanager
def _every_statement_small() -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as captured:
        yield captured
    sizes = [len(q["sql"].encode()) for q in captured.captured_queries]
    assert sizes, "no SQL was run"
    assert max(sizes) < MAX_SQL_BYTES, f"a statement of {max(sizes)} bytes"


# (group_by, filters, step, calls counted) over a 4o call from "chat" and an o3 one from "support-bot".
QUERIES: list[tuple[tuple[str, ...], dict[str, tuple[str, ...]], int, int]] = [
    (("tier",), {}, 3600, 2),
    ((), {}, 86_400, 2),
    (("tier", "service"), {}, 3600, 2),
    (("tier",), {"service": ("chat",)}, 3600, 1),
    (("service",), {"tier": ("o3", "4o")}, 60, 2),
    (("model",), {"service": ("chat",), "deployment": ("default",)}, 3600, 1),
]


@pytest.mark.parametrize(("group_by", "filters", "step", "calls"), QUERIES)
def test_ten_thousand_stale_minutes_keep_a_30_day_querys_sql_small(project, ingest_key, group_by, filters, step, calls):
    now = int(time.time())
    assert post_records(Client(), ingest_key, [record(service="chat"), record(tier="o3")]).status_code == 202
    roll_up_everything()
    _mark_stale(project, now)
    query = Query(project.pk, Window(now - DAYS * 86_400, now), group_by=group_by, filters=filters, step=step)
    with _every_statement_small():
        rows = report(query)
    assert sum(row["requests"] for row in rows) == calls
    with _every_statement_small():
        series = timeseries(query)
    assert sum(p["requests"] for s in series for p in s["points"]) == calls


def test_a_30_day_report_over_ten_thousand_stale_minutes_answers_with_the_calls_counted(project, ingest_key):
    now = int(time.time())
    assert post_records(Client(), ingest_key, [record(), record(), record(tier="o3")]).status_code == 202
    roll_up_everything()
    _mark_stale(project, now)
    body = read(Client(), REPORT, issue_key(project, "read"), [("from", rfc(now - DAYS * 86_400)), ("to", rfc(now))])
    assert {row["labels"]["tier"]: row["requests"] for row in body["rows"]} == {"4o": 2, "o3": 1}
