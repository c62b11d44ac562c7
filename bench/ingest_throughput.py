#!/usr/bin/env python3
"""Ingest throughput: gzip'd 1,000-record batches from concurrent clients, against raw COPY.

    bench/ingest [--url URL --key KEY --database-url URL] [--records 5000000] [--clients 8]

Without --url it starts everything `make run` starts (embedded PostgreSQL with
fsync and synchronous_commit on, Redis, gunicorn, the Celery worker rolling up
what arrives, beat, the demo generator) in a scratch folder. The load is live
traffic: a time-ordered stream of realistic calls (as a fleet at --traffic calls/s
would send them), each batch posted once, gzip'd, from concurrent clients.
It prints records/s, request latency p50/p99, the rate of a plain COPY of the
same rows into a scratch table with the same columns in the same database (same
batch size, same concurrency), and the ratio of the two.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack, connect  # also puts the repository on sys.path
from workload import stream

Results: TypeAlias = "mp.Queue[Any]"  # per-process result tuples


def live_traffic(records: int, size: int, calls_per_s: float) -> list[bytes]:
    """gzip'd batches of a fleet's calls, in time order, ending a minute ago."""
    return stream(records, size, time.time() - records / calls_per_s - 60, calls_per_s)


def client(
    url: str, key: str, batches: list[bytes], deadline: float | None, offset: int, stride: int, out: Results
) -> None:
    """Post batches from ``offset`` on, every ``stride``-th: round and round until ``deadline``,
    or each once when there is none."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    latencies: list[float] = []
    accepted = failures = 0
    i = offset
    while (time.monotonic() < deadline) if deadline is not None else i < len(batches):
        body = batches[i % len(batches)]
        i += stride
        started = time.perf_counter()
        conn.request("POST", "/api/v1/records", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status == 202:
            accepted += orjson.loads(payload)["accepted"]
        else:
            failures += 1
    out.put((accepted, failures, latencies))


def run_clients(
    url: str, key: str, batches: list[bytes], clients: int, duration: float | None
) -> tuple[int, int, list[float], float]:
    """Post from ``clients`` processes for ``duration`` s, or every batch once (in order) when None."""
    queue: Results = mp.Queue()
    start = time.monotonic()
    deadline = None if duration is None else start + duration
    if deadline is None:
        jobs = [(n, clients) for n in range(clients)]
    else:
        jobs = [(n * 7 % len(batches), 1) for n in range(clients)]
    procs = [
        mp.Process(target=client, args=(url, key, batches, deadline, offset, stride, queue)) for offset, stride in jobs
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    elapsed = time.monotonic() - start
    for p in procs:
        p.join()
    accepted = sum(r[0] for r in results)
    failures = sum(r[1] for r in results)
    latencies = [lat for r in results for lat in r[2]]
    return accepted, failures, latencies, elapsed


def copy_worker(database_url: str, fmt: str, chunks: list[Any], deadline: float, offset: int, out: Results) -> None:
    from monitor.store.raw import COLUMN_TYPES

    rows = 0
    i = offset
    with connect(database_url) as conn:
        while time.monotonic() < deadline:
            chunk = chunks[i % len(chunks)]
            i += 1
            with conn.transaction(), conn.cursor().copy(f"COPY bench_copy_reference FROM STDIN (FORMAT {fmt})") as copy:
                if fmt == "binary":
                    copy.set_types(COLUMN_TYPES)
                    for row in chunk:
                        copy.write_row(row)
                else:
                    copy.write(chunk)
            rows += len(chunk) if fmt == "binary" else chunk.count(b"\n")
    out.put(rows)


def copy_rate(database_url: str, fmt: str, chunks: list[Any], clients: int, duration: float) -> float:
    queue: Results = mp.Queue()
    start = time.monotonic()
    deadline = start + duration
    procs = [
        mp.Process(target=copy_worker, args=(database_url, fmt, chunks, deadline, n * 5, queue)) for n in range(clients)
    ]
    for p in procs:
        p.start()
    rows = sum(queue.get() for _ in procs)
    elapsed = time.monotonic() - start
    for p in procs:
        p.join()
    return float(rows) / elapsed


def copy_reference(database_url: str, clients: int, size: int, duration: float) -> dict[str, float]:
    """Rows/s of plain COPY (text and binary) of rows ingest stored, into a table with the same
    columns in the same database, with the same rows per transaction and the same concurrency."""
    with connect(database_url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_reference")
        conn.execute("CREATE TABLE bench_copy_reference (LIKE raw_records)")
        query = f"SELECT * FROM raw_records ORDER BY batch_id DESC LIMIT {size * 50}"
        tuples = conn.execute(query).fetchall()
        text = bytearray()
        with conn.cursor().copy(f"COPY ({query}) TO STDOUT") as copy:
            for data in copy:
                text += data
    lines = bytes(text).splitlines(keepends=True)
    text_chunks = [b"".join(lines[i : i + size]) for i in range(0, len(lines) - size + 1, size)]
    tuple_chunks = [tuples[i : i + size] for i in range(0, len(tuples) - size + 1, size)]
    rates = {
        "text": copy_rate(database_url, "text", text_chunks, clients, duration / 2),
        "binary": copy_rate(database_url, "binary", tuple_chunks, clients, duration / 2),
    }
    with connect(database_url) as conn:
        conn.execute("DROP TABLE bench_copy_reference")
    return rates


def _one(conn: Any, query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _one_value(database_url: str, query: str) -> Any:
    with connect(database_url) as conn:
        return _one(conn, query)


def settings_line(database_url: str) -> str:
    with connect(database_url) as conn:
        values = [_one(conn, f"SHOW {name}") for name in ("fsync", "synchronous_commit", "wal_level")]
        logged = _one(conn, "SELECT bool_and(relpersistence = 'p') FROM pg_class WHERE relname LIKE 'raw_records%'")
    return f"fsync={values[0]} synchronous_commit={values[1]} wal_level={values[2]} raw tables logged={logged}"


def bench(url: str, key: str, database_url: str, args: argparse.Namespace) -> None:
    print(f"preparing {args.records:,} records of live traffic in {args.batch}-record batches ...", flush=True)
    warmup = live_traffic(args.records // 20, args.batch, args.traffic)
    batches = live_traffic(args.records, args.batch, args.traffic)
    print("warming up ...", flush=True)
    run_clients(url, key, warmup, args.clients, None)
    print(f"ingest: {args.clients} clients posting each batch once ...", flush=True)
    accepted, failures, latencies, elapsed = run_clients(url, key, batches, args.clients, None)
    backlog = _one_value(
        database_url, "SELECT coalesce(sum(records), 0) FROM store_ingestbatch WHERE rolled_up_at IS NULL"
    )
    # Let the rollup worker finish before the reference, so it does not slow the COPY down.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and _one_value(
        database_url, "SELECT count(*) FROM store_ingestbatch WHERE rolled_up_at IS NULL"
    ):
        time.sleep(0.5)
    rate = accepted / elapsed
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(
        f"reference: plain COPY of the same rows, {args.clients} connections, {args.batch} rows per transaction ...",
        flush=True,
    )
    rates = copy_reference(database_url, args.clients, args.batch, args.copy_duration)
    best = max(rates.values())
    print()
    print(f"cpu: {os.cpu_count()} cores; postgres: {settings_line(database_url)}")
    print(f"ingest     {rate:>10,.0f} records/s  ({len(latencies) / elapsed:,.0f} requests/s, {failures} failed)")
    print(f"latency    p50 {p50:.1f} ms   p99 {p99:.1f} ms   per {args.batch}-record request")
    print(f"rollups    {backlog:,} records not yet rolled up when the last batch was acknowledged")
    print(f"raw COPY   {rates['text']:>10,.0f} rows/s text format, {rates['binary']:,.0f} rows/s binary format")
    print(f"ratio      {rate / best:.2f} of raw COPY (the faster format, {best:,.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running Tierwatch (default: start one)")
    parser.add_argument("--key", help="an ingest key for --url")
    parser.add_argument("--database-url", help="its database, for the COPY reference")
    parser.add_argument("--records", type=int, default=5_000_000, help="enough for 30 s and more")
    parser.add_argument("--traffic", type=float, default=150_000, help="calls/s of the fleet the stream comes from")
    parser.add_argument("--copy-duration", type=float, default=20)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    if args.url:
        if not (args.key and args.database_url):
            parser.error("--url needs --key and --database-url")
        bench(args.url, args.key, args.database_url, args)
        return
    print("starting Tierwatch (everything make run starts) in a scratch folder ...", flush=True)
    with Stack(demo=True) as stack:
        bench(stack.url, stack.ingest_key, stack.database_url, args)


if __name__ == "__main__":
    main()
