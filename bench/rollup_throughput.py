"""Rollup throughput: how fast a backlog is counted, next to how fast it was ingested.

    bench/rollup [--records 10000000] [--clients 8] [--workers 2]

Starts the web role alone (embedded PostgreSQL with fsync on, gunicorn), posts a
time-ordered backlog of realistic calls over HTTP with no rollup worker running,
then starts Celery workers and times until every batch is rolled up. Prints the
ingest rate, the catch-up time and rate, and checks the rollups add up to the raw rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, connect
from ingest_throughput import run_clients
from workload import stream


def _pending(database_url: str) -> tuple[int, int]:
    with connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(records), 0) FROM store_ingestbatch WHERE rolled_up_at IS NULL"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--traffic", type=float, default=2_000, help="calls per second the backlog spans")
    args = parser.parse_args()

    span = args.records / args.traffic
    start_ts = time.time() - span - 120
    print(f"preparing {args.records:,} records ({span / 3600:.1f} h of traffic at {args.traffic:,.0f} calls/s) ...")
    batches = stream(args.records, 1000, start_ts, args.traffic)
    print("starting the web role alone (no rollup worker) ...", flush=True)
    with Stack(demo=False, roles="web") as stack:
        began = time.monotonic()
        accepted, failures, _, _ = run_clients_once(stack, batches, args.clients)
        ingest_s = time.monotonic() - began
        print(f"ingested {accepted:,} records in {ingest_s:.1f} s ({failures} failed); starting {args.workers} workers")
        worker = stack.start_workers(args.workers)
        _wait_until_ready(stack)
        began = time.monotonic()
        _kick(stack)  # what ingest and beat do
        while True:
            if not _pending(stack.database_url)[0]:
                break
            time.sleep(0.2)
        catch_up_s = time.monotonic() - began
        # The minute, hour and day rollups are rebuilt right after: wait for them to check the totals.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with connect(stack.database_url) as conn:
                dirty = conn.execute("SELECT count(*) FROM rollup_stale").fetchone()
            if dirty and not dirty[0]:
                break
            _kick(stack)
            time.sleep(1)
        compact_s = time.monotonic() - began
        worker.terminate()
        worker.wait(30)
        with connect(stack.database_url) as conn:
            raw = conn.execute("SELECT sum(calls) FROM raw_records").fetchone()
            rolled = conn.execute("SELECT sum(calls) FROM rollup_series_1d").fetchone()
    print()
    print(f"ingest     {accepted / ingest_s:>10,.0f} records/s   ({accepted:,} records in {ingest_s:.1f} s)")
    print(f"catch-up   {accepted / catch_up_s:>10,.0f} records/s   ({catch_up_s:.1f} s for the whole backlog, "
          f"{args.workers} worker processes)")  # fmt: skip
    print(f"ratio      {ingest_s / catch_up_s:.2f}× faster than it was ingested")
    print(f"coarser    minute, hour and day rollups rebuilt {compact_s:.1f} s after the start of the catch-up")
    print(f"check      rollups count {rolled[0] if rolled else 0:,} calls, raw rows {raw[0] if raw else 0:,}")


def run_clients_once(stack: Stack, batches: list[bytes], clients: int) -> tuple[int, int, list[float], float]:
    """Post every batch once, in order, from ``clients`` processes."""
    return run_clients(stack.url, stack.ingest_key, batches, clients, duration=None)


def _wait_until_ready(stack: Stack) -> None:
    from monitor.celery import app

    app.conf.broker_url = stack.redis_url
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return
    raise RuntimeError("the Celery workers did not start")


def _kick(stack: Stack) -> None:
    from monitor.celery import app

    app.conf.broker_url = stack.redis_url
    with app.connection_for_write() as connection:
        app.send_task("monitor.rollups.tasks.roll_up", connection=connection)


if __name__ == "__main__":
    main()
