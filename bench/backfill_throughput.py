"""Backfill: a month of history posted in random time order, while another project stays live.

    bench/backfill [--records 3000000] [--clients 4] [--probes-every 1.0]

Starts everything `make run` starts but the demo generator (web, a Celery worker with
2 processes, beat) with RAW_RETENTION_DAYS=31, and two projects: `history`, which posts
--records calls spread over the last 30 days (40 series: the three seed tiers, five
model versions, 4 services, 2 deployments) shuffled into random time order, as an
import of a month would post them; and `live`, whose service posts a call now every
--probes-every seconds and polls its own report until the call is counted.
Meanwhile the 30-day report of `history` is read every 2 s.

Prints the backfill's rate from the first post until every batch is rolled up and no
rollup waits to be rebuilt (all levels), when the 30-day report first counted every
call, how that report answered meanwhile, and the live project's freshness.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, connect  # also puts the repository on sys.path
from ingest_throughput import run_clients
from pages_data import _records as fleet_records

DAYS = 30
SETUP = """
from django.contrib.auth.models import User
from monitor.projects.models import ApiKey
from monitor.projects.services import create_project

User.objects.create_user("bench")
for slug in ("history", "live"):
    project = create_project(slug, "bench", slug)
    print(ApiKey.issue(project, ApiKey.Scope("ingest"), "bench/backfill")[1])
    print(ApiKey.issue(project, ApiKey.Scope("read"), "bench/backfill")[1])
"""


def _batch(job: tuple[list[int], float, float, float]) -> bytes:
    """The fleet's calls with these indexes (call n at start_ts + n / calls_per_s)."""
    indexes, start_ts, calls_per_s, upgrade_ts = job
    records = [fleet_records(n, 1, start_ts, calls_per_s, upgrade_ts)[0] for n in indexes]
    return gzip.compress(orjson.dumps({"records": records}), 6)


def shuffled_batches(total: int, start_ts: float, calls_per_s: float, size: int = 1000) -> list[bytes]:
    order = list(range(total))
    random.Random(7).shuffle(order)
    upgrade_ts = start_ts + DAYS * 86_400 * 2 / 3
    jobs = [(order[n : n + size], start_ts, calls_per_s, upgrade_ts) for n in range(0, total, size)]
    with mp.Pool() as pool:
        return pool.map(_batch, jobs, chunksize=16)


def remaining(database_url: str) -> tuple[int, int]:
    """The history project's (batches not rolled up, rollup buckets waiting to be rebuilt)."""
    with connect(database_url) as conn:
        row = conn.execute(
            "WITH p AS (SELECT id FROM projects_project WHERE slug = 'history') "
            "SELECT (SELECT count(*) FROM store_ingestbatch WHERE rolled_up_at IS NULL AND rollup_error IS NULL"
            "        AND project_id = (SELECT id FROM p)),"
            " (SELECT count(*) FROM rollup_stale WHERE project_id = (SELECT id FROM p))"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


class ReportWatcher(threading.Thread):
    """Reads the 30-day report of the backfilling project every 2 s."""

    def __init__(self, url: str, key: str, total: int, began: float) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.total, self.began = url, key, total, began
        self.stopping = threading.Event()
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self.complete_at: float | None = None
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=120) as client:
            while not self.stopping.wait(2.0):
                start = int(time.time()) - DAYS * 86_400 - 600
                began = time.perf_counter()
                response = client.get("/api/v1/report", params={"from": start, "group_by": "tier"})
                self.latencies.append(time.perf_counter() - began)
                self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
                if response.status_code != 200:
                    self.failures.append(response.text[:200])
                    continue
                counted = sum(row["requests"] for row in response.json()["rows"])
                if self.complete_at is None and counted >= self.total:
                    self.complete_at = time.monotonic() - self.began


class LiveProbes(threading.Thread):
    """The live project's service: a call now, then its report polled until the call is counted."""

    def __init__(self, url: str, ingest_key: str, read_key: str, every_s: float) -> None:
        super().__init__(daemon=True)
        self.url, self.ingest_key, self.read_key, self.every_s = url, ingest_key, read_key, every_s
        self.stopping = threading.Event()
        self.delays: list[float] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            n = 0
            since = int(time.time())
            while not self.stopping.is_set():
                n += 1
                # One service, so the probes stay one series: the n-th is counted when n are.
                service = "probe"
                body = {"records": [{"ts": time.time(), "service": service, "tier": "4o", "latency_ms": 42.0}]}
                headers = {"Authorization": f"Bearer {self.ingest_key}"}
                response = client.post("/api/v1/records", json=body, headers=headers)
                assert response.status_code == 202, response.text
                acknowledged = time.monotonic()
                params: dict[str, str | int] = {"group_by": "service", "service": service, "from": since - 1}
                while not self.stopping.is_set():
                    rows = client.get(
                        "/api/v1/report", params=params, headers={"Authorization": f"Bearer {self.read_key}"}
                    ).json()["rows"]
                    if rows and rows[0]["requests"] >= n:
                        self.delays.append(time.monotonic() - acknowledged)
                        break
                    time.sleep(0.05)
                self.stopping.wait(max(0.0, self.every_s - (time.monotonic() - acknowledged)))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=3_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--probes-every", type=float, default=1.0, help="seconds between live probes")
    args = parser.parse_args()

    now = time.time()
    span = DAYS * 86_400 - 600
    print(f"preparing {args.records:,} calls over {DAYS} days in random order ...", flush=True)
    batches = shuffled_batches(args.records, now - span, args.records / (span - 60))
    os.environ["RAW_RETENTION_DAYS"] = str(DAYS + 1)
    with Stack(demo=False) as stack:
        history_ingest, history_read, live_ingest, live_read = stack.manage("shell", "-v", "0", "-c", SETUP).split()
        probes = LiveProbes(stack.url, live_ingest, live_read, args.probes_every)
        probes.start()
        time.sleep(5)  # the live project's freshness before the backfill, as a reference
        quiet = list(probes.delays)
        began = time.monotonic()
        watcher = ReportWatcher(stack.url, history_read, args.records, began)
        watcher.start()
        accepted, failures, _, _ = run_clients(stack.url, history_ingest, batches, args.clients, None)
        posted_s = time.monotonic() - began
        print(f"posted {accepted:,} records ({failures} failed) in {posted_s:.1f} s", flush=True)
        during = len(probes.delays)
        rolled_s = None
        shown = 0.0
        while True:
            batches_left, buckets_left = remaining(stack.database_url)
            if not batches_left and rolled_s is None:
                rolled_s = time.monotonic() - began
            if time.monotonic() - shown >= 10:
                shown = time.monotonic()
                print(f"  {shown - began:6.0f} s: {batches_left:,} batches and {buckets_left:,} stale buckets left",
                      flush=True)  # fmt: skip
            if not batches_left and not buckets_left:
                break
            time.sleep(0.5)
        done_s = time.monotonic() - began
        while watcher.complete_at is None and time.monotonic() - began < done_s + 10:
            time.sleep(0.5)
        probes.stopping.set()
        watcher.stopping.set()
        probes.join()
        watcher.join()
        with connect(stack.database_url) as conn:
            row = conn.execute(
                "SELECT sum(r.calls) FROM rollup_series_1d r JOIN catalogue_series s ON s.id = r.series_id "
                "JOIN projects_project p ON p.id = s.project_id WHERE p.slug = 'history'"
            ).fetchone()
        counted = int(row[0] or 0) if row else 0
    backfill_delays = probes.delays[len(quiet) :]
    print()
    print(f"data       {accepted:,} calls over {DAYS} days, 40 series, random time order, {args.clients} clients")
    print(f"ingest     {accepted / posted_s:>9,.0f} records/s   ({posted_s:.1f} s to post them all)")
    print(f"rolled up  {accepted / (rolled_s or done_s):>9,.0f} records/s   ({rolled_s or done_s:.1f} s: every batch)")
    print(f"all levels {accepted / done_s:>9,.0f} records/s   ({done_s:.1f} s from the first post until no rollup "
          "waits to be rebuilt)")  # fmt: skip
    complete = f"{watcher.complete_at:.1f} s after the first post" if watcher.complete_at else "never"
    statuses = ", ".join(f"{n}× {status}" for status, n in sorted(watcher.statuses.items()))
    print(f"report     30-day report counted every call {complete}; answered {statuses}; "
          f"p50 {statistics.median(watcher.latencies):.2f} s, max {max(watcher.latencies):.2f} s")  # fmt: skip
    for failure in watcher.failures[:3]:
        print(f"  failed   {failure}")
    if backfill_delays:
        print(f"live       freshness p50 {statistics.median(backfill_delays):.2f} s   "
              f"p95 {_quantile(backfill_delays, 0.95):.2f} s   max {max(backfill_delays):.2f} s   "
              f"({len(backfill_delays)} probes of the other project during the backfill; "
              f"{during - len(quiet)} while it was being posted)")  # fmt: skip
    if quiet:
        print(f"  before   p50 {statistics.median(quiet):.2f} s ({len(quiet)} probes before the backfill)")
    print(f"check      the history project's day rollups count {counted:,} calls; {accepted:,} were accepted")


if __name__ == "__main__":
    main()
