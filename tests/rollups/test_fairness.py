"""A month-long backfill into one project, real workers: another project's live calls stay fresh.

The backfill is posted in random time order, as an import of a month of history would
be; while it is posted and two workers catch up, a second project posts one live call
at a time and waits to see it counted, and the backfilling project's 30-day report is
read between probes: it answers 200 with the calls counted so far, never fewer.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from typing import Any

import orjson
import pytest
from django.db import connections
from django.test import Client, override_settings

from monitor.projects.models import Project
from monitor.rollups.tasks import roll_up
from tests.conftest import issue_key, post_records, record
from tests.readapi.helpers import REPORT, rfc
from tests.rollups.workers import forget_queued_tasks, one, start_worker, stop

DAYS = 30
BACKFILL_CALLS = 60_000
BATCH = 2_000
# The freshness bound while a project backfills (p95 ≤ 5 s); a single probe may be slower.
MEDIAN_FRESHNESS_S = 5.0
SLOWEST_FRESHNESS_S = 15.0
# The beat schedule's safety-net run of the rollups (monitor/settings.py), played by the test.
BEAT_S = 5.0


def _backfill(key: str, now: float, failures: list[BaseException]) -> None:
    """Post the backfill (in a thread of its own, as an import script runs beside live traffic)."""
    client = Client()
    rng = random.Random(2026)
    try:
        for _ in range(BACKFILL_CALLS // BATCH):
            records = [
                {
                    "ts": now - rng.uniform(600, DAYS * 86_400),
                    "service": rng.choice(["chat", "search", "batch"]),
                    "tier": rng.choice(["o3", "4o", "o4-mini"]),
                    "latency_ms": rng.uniform(50, 4_000),
                }
                for _ in range(BATCH)
            ]
            assert post_records(client, key, records).status_code == 202
    except BaseException as exc:
        failures.append(exc)
    finally:
        connections.close_all()


def _counted(client: Client, read_key: str, start: float, end: float) -> int:
    response = client.get(
        REPORT, {"from": rfc(int(start)), "to": rfc(int(end) + 1)}, headers={"Authorization": f"Bearer {read_key}"}
    )
    assert response.status_code == 200, response.content
    rows: list[dict[str, Any]] = orjson.loads(response.content)["rows"]
    return sum(row["requests"] for row in rows)


def _catching_up(project: Project) -> bool:
    return bool(
        one(
            "SELECT EXISTS (SELECT 1 FROM store_ingestbatch WHERE project_id = %s AND rolled_up_at IS NULL)"
            " OR EXISTS (SELECT 1 FROM rollup_stale WHERE project_id = %s)",
            [project.pk, project.pk],
        )[0]
    )


@pytest.mark.django_db(transaction=True)
@override_settings(RAW_RETENTION_DAYS=DAYS + 1, FINE_RETENTION_DAYS=DAYS + 2)
def test_a_backfill_delays_neither_another_projects_live_calls_nor_its_own_reports(project, other_project, tmp_path):
    forget_queued_tasks()
    client = Client()
    history_read = issue_key(project, "read")
    live_ingest, live_read = issue_key(other_project), issue_key(other_project, "read")
    now = time.time()
    failures: list[BaseException] = []
    poster = threading.Thread(target=_backfill, args=(issue_key(project), now, failures))

    env = {"RAW_RETENTION_DAYS": str(DAYS + 1)}
    workers = [start_worker(f"fair{n}", tmp_path, **env) for n in range(2)]
    delays: list[float] = []
    during_backfill = 0
    history_counts: list[int] = []
    try:
        # The workers are up once they have counted a first live call.
        assert post_records(client, live_ingest, [record(ts=time.time() - 0.5)]).status_code == 202
        deadline = time.monotonic() + 60
        roll_up.delay()  # however the workers came up, one task to start with
        while _counted(client, live_read, now - 600, time.time()) < 1:
            assert time.monotonic() < deadline, (tmp_path / "fair0.log").read_text()
            time.sleep(0.1)
        poster.start()
        deadline = time.monotonic() + 300
        while True:
            catching_up = poster.is_alive() or _catching_up(project)
            if not catching_up and len(delays) >= 5:
                break
            assert time.monotonic() < deadline, "the workers did not catch up with the backfill"
            posted = time.monotonic()
            assert post_records(client, live_ingest, [record(ts=time.time() - 0.5)]).status_code == 202
            beat = time.monotonic() + BEAT_S
            while _counted(client, live_read, now - 600, time.time()) < len(delays) + 2:
                if time.monotonic() > beat:  # what beat does every few seconds
                    roll_up.delay()
                    beat = time.monotonic() + BEAT_S
                assert time.monotonic() - posted < SLOWEST_FRESHNESS_S, (
                    f"a live call waited over {SLOWEST_FRESHNESS_S} s behind another project's backfill"
                )
                time.sleep(0.05)
            delays.append(time.monotonic() - posted)
            during_backfill += catching_up
            history_counts.append(_counted(client, history_read, now - DAYS * 86_400 - 60, now))
    finally:
        stop(workers)
        if poster.is_alive():
            poster.join()

    assert not failures, failures
    assert during_backfill >= 3, f"only {during_backfill} probes ran while the backfill was rolling up: {delays}"
    assert statistics.median(delays) <= MEDIAN_FRESHNESS_S, delays
    assert history_counts == sorted(history_counts), "the 30-day report counted fewer calls than before"
    assert history_counts[-1] == BACKFILL_CALLS
