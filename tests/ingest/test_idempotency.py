"""Idempotency-Key: a committed key answers 200 duplicate and stores nothing, even when racing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from django.db import connection

from monitor.store.partitions import partition_name
from tests.conftest import issue_key, post_records, record
from tests.ingest.helpers import counts


def test_a_repeated_key_answers_200_duplicate_with_the_first_count(client, project, ingest_key):
    key = {"Idempotency-Key": "batch-0001"}
    first = post_records(client, ingest_key, [record(), record()], headers=key)
    again = post_records(client, ingest_key, [record(), record()], headers=key)
    assert first.status_code == 202 and first.json() == {"accepted": 2}
    assert again.status_code == 200 and again.json() == {"accepted": 2, "duplicate": True}
    assert counts(project.pk) == {"rows": 2, "batches": 1, "series": 1}


def test_a_repeated_key_is_not_compared_with_the_first_body(client, project, ingest_key):
    key = {"Idempotency-Key": "same-key"}
    post_records(client, ingest_key, [record()] * 3, headers=key)
    again = post_records(client, ingest_key, [record(service="other")] * 7, headers=key)
    assert again.json() == {"accepted": 3, "duplicate": True}
    assert counts(project.pk)["rows"] == 3


def test_a_rejected_batch_does_not_use_its_key_up(client, project, ingest_key):
    key = {"Idempotency-Key": "retry-me"}
    assert post_records(client, ingest_key, [record(latency_ms=-1)], headers=key).status_code == 400
    second = post_records(client, ingest_key, [record()], headers=key)
    assert second.status_code == 202
    assert counts(project.pk)["rows"] == 1


def test_without_a_key_a_resent_batch_counts_again(client, project, ingest_key):
    post_records(client, ingest_key, [record()])
    post_records(client, ingest_key, [record()])
    assert counts(project.pk) == {"rows": 2, "batches": 2, "series": 1}


def test_keys_belong_to_one_project(client, project, other_project, ingest_key):
    key = {"Idempotency-Key": "shared-name"}
    assert post_records(client, ingest_key, [record()], headers=key).status_code == 202
    assert post_records(client, issue_key(other_project), [record()], headers=key).status_code == 202
    assert counts(other_project.pk)["rows"] == 1


@pytest.mark.parametrize("value", ["x" * 201, "tab\there", "naïve"])
def test_it_rejects_a_malformed_key(client, project, ingest_key, value):
    response = client.post(
        "/api/v1/records",
        data=orjson.dumps({"records": [record()]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {ingest_key}", "Idempotency-Key": value},
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "Idempotency-Key"
    assert counts(project.pk)["batches"] == 0


def test_a_key_of_two_hundred_printable_characters_is_accepted(client, project, ingest_key):
    key = {"Idempotency-Key": "k" * 199 + "~"}
    assert post_records(client, ingest_key, [record()], headers=key).status_code == 202


# --- races: real concurrent requests against a live server ---------------------------


def _admin_connection() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=False)


def _wait_for_waiters(n: int, timeout: float = 10.0) -> None:
    """Until ``n`` backends of this database wait for a lock."""
    deadline = time.monotonic() + timeout
    with _admin_connection() as probe:
        probe.autocommit = True
        while time.monotonic() < deadline:
            (waiting,) = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()  # type: ignore[misc]
            if waiting >= n:
                return
            time.sleep(0.02)
    raise AssertionError(f"expected {n} requests waiting for a lock")


class _Post(threading.Thread):
    def __init__(self, url: str, key: str, records: list[dict[str, Any]], idempotency_key: str) -> None:
        super().__init__()
        self.args = (url, key, records, idempotency_key)
        self.response: httpx.Response | None = None

    def run(self) -> None:
        url, key, records, idem = self.args
        self.response = httpx.post(
            f"{url}/api/v1/records",
            content=orjson.dumps({"records": records}),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Idempotency-Key": idem},
            timeout=30,
        )


@pytest.mark.django_db(transaction=True)
def test_a_repeat_racing_the_first_waits_for_it_and_is_a_duplicate(live_server, project, ingest_key):
    today = partition_name(datetime.now(UTC).date())
    with _admin_connection() as locker:
        # Hold the first request inside its transaction: its COPY waits for this lock.
        locker.execute(f"LOCK TABLE {today} IN SHARE MODE")
        first = _Post(live_server.url, ingest_key, [record()] * 4, "race-1")
        first.start()
        _wait_for_waiters(1)
        repeat = _Post(live_server.url, ingest_key, [record()] * 9, "race-1")
        repeat.start()
        _wait_for_waiters(2)  # the repeat now waits on the first one's idempotency key
        locker.rollback()
    first.join(30)
    repeat.join(30)
    assert first.response is not None and repeat.response is not None
    assert first.response.status_code == 202, first.response.text
    assert first.response.json() == {"accepted": 4}
    assert repeat.response.status_code == 200, repeat.response.text
    assert repeat.response.json() == {"accepted": 4, "duplicate": True}
    assert counts(project.pk) == {"rows": 4, "batches": 1, "series": 1}


@pytest.mark.django_db(transaction=True)
def test_a_repeat_racing_a_first_that_fails_goes_ahead_itself(live_server, project, ingest_key):
    # Fill the project's series limit, so a batch that brings a new series fails.
    project.series_limit = 1
    project.save()
    assert post_records(_client(), ingest_key, [record(service="known")]).status_code == 202
    with _admin_connection() as locker:
        # The first request reserves its key, then waits here to register its new series.
        locker.execute("SELECT 1 FROM projects_project WHERE id = %s FOR NO KEY UPDATE", [project.pk])
        first = _Post(live_server.url, ingest_key, [record(service="brand-new")], "race-2")
        first.start()
        _wait_for_waiters(1)
        repeat = _Post(live_server.url, ingest_key, [record(service="known")] * 2, "race-2")
        repeat.start()
        _wait_for_waiters(2)
        locker.rollback()
    first.join(30)
    repeat.join(30)
    assert first.response is not None and repeat.response is not None
    assert first.response.status_code == 400, first.response.text
    assert "series limit" in first.response.json()["error"]
    assert repeat.response.status_code == 202, repeat.response.text
    assert repeat.response.json() == {"accepted": 2}
    assert counts(project.pk) == {"rows": 3, "batches": 2, "series": 1}


def _client() -> Any:
    from django.test import Client

    return Client()
