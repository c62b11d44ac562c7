"""Freshness: from a record's 202 to the record showing in `report`, under load.

    bench/freshness [--rate 50000] [--duration 40] [--probes 40]

Starts everything `make run` starts, posts live traffic at --rate records/s from
concurrent clients, and meanwhile posts single probe records (each under a service
name of its own) and polls GET /api/v1/report for that service until the record is
counted. Prints the achieved load and the p50/p95/max of 202-to-visible.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stack import Stack  # also puts the repository on sys.path
from workload import stream


def paced_client(url: str, key: str, batches: list[bytes], per_s: float, until: float, out: Any) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    sent = 0
    began = time.monotonic()
    for body in batches:
        if time.monotonic() >= until:
            break
        conn.request("POST", "/api/v1/records", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status == 202:
            sent += 1000
        pause = began + sent / 1000 / per_s - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    out.put(sent)


def post_probe(url: str, key: str, service: str) -> float:
    body = json.dumps({"records": [{"ts": time.time(), "service": service, "tier": "4o", "latency_ms": 42.0}]})
    request = urllib.request.Request(
        f"{url}/api/v1/records",
        data=body.encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
    return time.monotonic()


def counted(url: str, key: str, service: str) -> bool:
    query = f"{url}/api/v1/report?group_by=service&service={service}&from={int(time.time()) - 120}"
    request = urllib.request.Request(query, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        rows = json.loads(response.read())["rows"]
    return bool(rows) and rows[0]["requests"] >= 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50_000, help="records per second of background load")
    parser.add_argument("--duration", type=float, default=40)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()

    total = int(args.rate * (args.duration + 10))
    print(f"preparing {total:,} records of live traffic ...", flush=True)
    batches = stream(total, 1000, time.time() - 60, args.rate)
    with Stack(demo=True) as stack:
        read_key = stack.manage("create_api_key", "demo", "--scope", "read").strip()
        until = time.monotonic() + args.duration
        queue: Any = mp.Queue()
        clients = [
            mp.Process(
                target=paced_client,
                args=(stack.url, stack.ingest_key, batches[n :: args.clients], args.rate / args.clients, until, queue),
            )
            for n in range(args.clients)
        ]
        began = time.monotonic()
        for client in clients:
            client.start()
        time.sleep(5)  # let the load settle
        delays = []
        gap = max(0.2, (args.duration - 10) / args.probes)
        for n in range(args.probes):
            service = f"probe-{n}-{int(time.time())}"
            acknowledged = post_probe(stack.url, stack.ingest_key, service)
            while not counted(stack.url, read_key, service):
                time.sleep(0.05)
            delays.append(time.monotonic() - acknowledged)
            time.sleep(max(0.0, gap - delays[-1]))
        load = sum(queue.get() for _ in clients) / (time.monotonic() - began)
        for client in clients:
            client.join()
    delays.sort()
    p95 = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
    print()
    print(f"load       {load:>10,.0f} records/s ingested meanwhile ({args.clients} clients, target {args.rate:,.0f})")
    print(
        f"freshness  p50 {statistics.median(delays):.2f} s   p95 {p95:.2f} s   max {delays[-1]:.2f} s   "
        f"from 202 to counted in report ({len(delays)} probes)"
    )


if __name__ == "__main__":
    main()
