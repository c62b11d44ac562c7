"""Real Celery workers, in parallel over one backlog, one killed mid-rollup: nothing lost or doubled."""

from __future__ import annotations

import random
import signal
import time
from typing import Any

import pytest
from django.test import Client

from monitor.rollups.tasks import roll_up
from tests.conftest import post_records
from tests.rollups.workers import forget_queued_tasks, one, start_worker, stop


def _backlog(key: str, batches: int, size: int) -> None:
    rng = random.Random(42)
    now = time.time()
    client = Client()
    for _ in range(batches):
        records = []
        for _ in range(size):
            rec: dict[str, Any] = {
                "ts": now - rng.uniform(60, 7200),
                "service": rng.choice(["a", "b", "c"]),
                "tier": rng.choice(["o3", "4o", "o4-mini"]),
                "latency_ms": rng.uniform(50, 3000),
                "tokens_out": rng.randint(0, 500),
            }
            if rng.random() < 0.1:
                rec.update(count=rng.randint(2, 20), window_s=60, errors=1)
            elif rng.random() < 0.05:
                rec["status"] = "error"
            records.append(rec)
        assert post_records(client, key, records).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_workers_killed_mid_rollup_neither_lose_nor_double_count_a_record(project, ingest_key, tmp_path):
    forget_queued_tasks()
    _backlog(ingest_key, batches=300, size=300)
    workers = {name: start_worker(name, tmp_path) for name in ("w1", "w2", "w3")}
    try:
        for _ in range(3):
            roll_up.delay()
        # Kill w1 while PostgreSQL is executing its rollup statement: mid-transaction.
        deadline = time.monotonic() + 60
        while not one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'w1' AND state = 'active' "
            "AND query LIKE '%%WITH r AS MATERIALIZED%%'"
        )[0]:
            assert time.monotonic() < deadline, (tmp_path / "w1.log").read_text()
            time.sleep(0.005)
        workers["w1"].send_signal(signal.SIGKILL)
        workers["w1"].wait(10)
        pending = one("SELECT count(*) FROM store_ingestbatch WHERE rolled_up_at IS NULL")[0]
        assert pending > 0, "the backlog was gone before a worker could be killed mid-way"
        deadline = time.monotonic() + 120
        while one(
            "SELECT (SELECT count(*) FROM store_ingestbatch WHERE rolled_up_at IS NULL)"
            " + (SELECT count(*) FROM rollup_stale)"
        )[0]:
            assert time.monotonic() < deadline, "the surviving workers did not finish the backlog"
            roll_up.delay()  # what beat does every few seconds
            time.sleep(0.5)
    finally:
        stop(workers.values())

    raw = one(
        "SELECT sum(r.calls), sum(r.errors), sum(r.tokens_out), sum(r.cost_nano) FROM raw_records r "
        "JOIN store_ingestbatch b ON b.id = r.batch_id WHERE b.project_id = %s",
        [project.pk],
    )
    for level in ("1s", "1m", "1h", "1d"):
        rolled = one(
            f"SELECT sum(r.calls), sum(r.errors), sum(r.tokens_out), sum(r.cost_nano) FROM rollup_series_{level} r "
            "JOIN catalogue_series s ON s.id = r.series_id WHERE s.project_id = %s",
            [project.pk],
        )
        assert rolled == raw, level
        if level != "1s":  # groups start at the minute
            group = one(
                f"SELECT sum(calls), sum(errors) FROM rollup_group_{level} WHERE project_id = %s AND dim = 0",
                [project.pk],
            )
            assert group == raw[:2], level
    sketch_calls = one(
        "SELECT sum(c) FROM rollup_series_1h r JOIN catalogue_series s ON s.id = r.series_id, "
        "unnest(r.lat_counts) AS c WHERE s.project_id = %s",
        [project.pk],
    )[0]
    assert sketch_calls == raw[0]
