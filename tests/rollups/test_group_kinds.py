"""Group kinds added after data was rolled up (the pairs) answer only buckets built with them."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from monitor.metrics.engine import report
from monitor.metrics.groups import resolve
from monitor.metrics.query import Query, Window
from monitor.rollups import kinds
from monitor.rollups.levels import Dim
from tests.conftest import post_records, record, roll_up_everything

PAIRS = (Dim.TIER_SERVICE, Dim.TIER_DEPLOYMENT, Dim.MODEL_SERVICE, Dim.MODEL_DEPLOYMENT)


def _since() -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT dim, rows_since FROM rollup_group_kind")
        return dict(cursor.fetchall())


def _starting(kind: Dim, since: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rollup_group_kind SET rows_since = %s WHERE dim = %s", [since, int(kind)])
    kinds.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_an_install_with_rollups_gets_the_pair_kinds_from_the_next_utc_day(project, ingest_key):
    assert post_records(Client(), ingest_key, [record()]).status_code == 202
    roll_up_everything()
    try:
        call_command("migrate", "rollups", "0002", verbosity=0)
        call_command("migrate", "rollups", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT (floor(extract(epoch FROM now()) / 86400)::bigint + 1) * 86400")
            tomorrow = cursor.fetchone()[0]
        since = _since()
        assert {kind: since[kind] for kind in PAIRS} == dict.fromkeys(PAIRS, tomorrow)
        assert all(since[kind] == 0 for kind in Dim if kind not in PAIRS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE rollup_group_kind SET rows_since = 0")
        kinds.clear_cache()


def test_a_new_install_has_every_kind_from_the_start(db):
    assert _since() == dict.fromkeys(map(int, Dim), 0)


def test_a_pair_grouping_reaching_before_its_kind_is_summed_from_the_series(project, ingest_key):
    now = int(time.time())
    calls = [record(ts=now - 3000 + n, service=("chat", "search")[n % 2], latency_ms=100 + n) for n in range(20)]
    calls += [
        record(ts=now - 600 + n / 4, service="chat", tier="o3", status="error" if n % 3 else "ok") for n in range(8)
    ]
    assert post_records(Client(), ingest_key, calls).status_code == 202
    roll_up_everything()
    query = Query(project.pk, Window(now - 3600, now), group_by=("tier", "service"))
    with_rows = report(query)
    assert resolve(query).kind is Dim.TIER_SERVICE

    _starting(Dim.TIER_SERVICE, now - 1800)
    assert resolve(query).kind is None
    assert report(query) == with_rows
    later = Query(project.pk, Window(now - 1800, now), group_by=("tier", "service"))
    assert resolve(later).kind is Dim.TIER_SERVICE
    assert {tuple(r["labels"].values()): r["requests"] for r in report(later)} == {("o3", "chat"): 8}
