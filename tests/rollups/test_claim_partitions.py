"""A claim makes the per-second partitions of every day its records touch, whatever it knows already."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import Client, override_settings

from monitor.rollups import claim
from tests.conftest import post_records, record, roll_up_everything

DAY = 86_400


def _calls(key: str, *days_ago: float) -> None:
    now = time.time()
    assert post_records(Client(), key, [record(ts=now - d * DAY) for d in days_ago]).status_code == 202


# Committed claims: the days a claim made are remembered only once it commits.
@pytest.mark.django_db(transaction=True)
@override_settings(RAW_RETENTION_DAYS=31, FINE_RETENTION_DAYS=32)
def test_a_month_long_claim_makes_the_days_between_ones_it_knows(project, ingest_key, monkeypatch):
    monkeypatch.setattr(claim, "_known_days", set())
    _calls(ingest_key, 25, 24)  # days 25 and 24 ago become known
    roll_up_everything()
    _calls(ingest_key, 21, 20)
    roll_up_everything()
    # One claim from 25 days ago to 20: its ends are known, the days between (23, 22) maybe not made.
    _calls(ingest_key, 25, 22.5, 20)
    roll_up_everything()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(r.calls) FROM rollup_series_1s r JOIN catalogue_series s ON s.id = r.series_id "
            "WHERE s.project_id = %s",
            [project.pk],
        )
        assert cursor.fetchone()[0] == 7
