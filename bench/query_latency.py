"""Read latency: 30-day `report` and `metrics` over 10M records, against percentile_cont on raw rows.

    bench/query [--records 10000000] [--runs 50]

Starts everything `make run` starts with RAW_RETENTION_DAYS=31 (so 30 days of raw
rows are kept for the reference), posts a time-ordered stream of calls spread over
the last 30 days over HTTP, waits for the rollups, then times
  - GET /api/v1/report over 30 days grouped by tier, over HTTP with a read key;
  - GET /api/v1/metrics over 30 days grouped by tier, step 1 h (720 points);
and, in the same database, the same per-tier figures computed from the raw rows with
percentile_cont (counts, errors, mean and p50/p95/p99 latency and TTFT), and prints
p50/p95 of each and the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, connect  # also puts the repository on sys.path
from ingest_throughput import run_clients
from workload import stream

DAYS = 30
REFERENCE_REPORT = """
SELECT t.name, count(*), sum(r.errors), avg(r.latency_ms),
  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY r.latency_ms),
  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY r.ttft_ms)
FROM raw_records r JOIN catalogue_series s ON s.id = r.series_id JOIN catalogue_tier t ON t.id = s.tier_id
WHERE s.project_id = %(project)s AND r.ts_us >= %(low)s AND r.ts_us < %(high)s
GROUP BY t.name
"""
REFERENCE_METRICS = """
SELECT t.name, r.ts_us / 3600000000 AS hour, count(*), sum(r.errors), avg(r.latency_ms),
  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY r.latency_ms),
  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY r.ttft_ms)
FROM raw_records r JOIN catalogue_series s ON s.id = r.series_id JOIN catalogue_tier t ON t.id = s.tier_id
WHERE s.project_id = %(project)s AND r.ts_us >= %(low)s AND r.ts_us < %(high)s
GROUP BY 1, 2
"""


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def get(url: str, key: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return bytes(response.read())


def wait_for_rollups(database_url: str) -> None:
    while True:
        with connect(database_url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM store_ingestbatch WHERE rolled_up_at IS NULL)"
                " + (SELECT count(*) FROM rollup_stale)"
            ).fetchone()
        if row and not row[0]:
            return
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--reference-runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=12)
    args = parser.parse_args()

    now = time.time()
    span = DAYS * 86_400 - 600
    print(f"preparing {args.records:,} records spread over {DAYS} days ...", flush=True)
    batches = stream(args.records, 1000, now - span, args.records / (span - 60))
    os.environ["RAW_RETENTION_DAYS"] = str(DAYS + 1)
    with Stack(demo=False) as stack:
        began = time.monotonic()
        accepted, failures, _, _ = run_clients(stack.url, stack.ingest_key, batches, args.clients, None)
        print(f"ingested {accepted:,} records ({failures} failed) in {time.monotonic() - began:.0f} s", flush=True)
        wait_for_rollups(stack.database_url)
        print(f"rolled up {time.monotonic() - began:.0f} s after the first post", flush=True)
        key = stack.manage("create_api_key", "demo", "--scope", "read").strip()
        to = int(time.time())
        start = to - DAYS * 86_400
        report_url = f"{stack.url}/api/v1/report?from={start}&to={to}&group_by=tier"
        metrics_url = f"{stack.url}/api/v1/metrics?from={start}&to={to}&group_by=tier&step=3600"
        get(report_url, key)
        get(metrics_url, key)
        report = timed(lambda: get(report_url, key), args.runs)
        metrics = timed(lambda: get(metrics_url, key), args.runs)
        with connect(stack.database_url) as conn:
            project = conn.execute("SELECT id FROM projects_project WHERE slug = 'demo'").fetchone()
            params = {"project": project[0] if project else 0, "low": start * 1_000_000, "high": to * 1_000_000}
            raw_report = timed(lambda: conn.execute(REFERENCE_REPORT, params).fetchall(), args.reference_runs)
            raw_metrics = timed(lambda: conn.execute(REFERENCE_METRICS, params).fetchall(), args.reference_runs)
            raw_rows = conn.execute("SELECT count(*) FROM raw_records").fetchone()
    print()
    print(f"data       {raw_rows[0] if raw_rows else 0:,} raw records over {DAYS} days, 24 series, 3 tiers")
    print(f"report     p50 {report[0]:8.1f} ms   p95 {report[1]:8.1f} ms   (HTTP, 30 days, group_by=tier)")
    print(f"  raw      p50 {raw_report[0]:8.1f} ms   p95 {raw_report[1]:8.1f} ms   (percentile_cont, raw rows)")
    print(f"  ratio    {raw_report[0] / report[0]:.0f}× faster at p50, {raw_report[1] / report[1]:.0f}× at p95")
    print(f"metrics    p50 {metrics[0]:8.1f} ms   p95 {metrics[1]:8.1f} ms   (HTTP, 30 days, step 1 h, 720 points)")
    print(
        f"  raw      p50 {raw_metrics[0]:8.1f} ms   p95 {raw_metrics[1]:8.1f} ms   (percentile_cont per tier and hour)"
    )
    print(f"  ratio    {raw_metrics[0] / metrics[0]:.0f}× faster at p50, {raw_metrics[1] / metrics[1]:.0f}× at p95")


if __name__ == "__main__":
    main()
