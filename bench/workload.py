"""Realistic, time-ordered demo traffic as gzip'd ingest batches, made in parallel."""

from __future__ import annotations

import gzip
import multiprocessing as mp
import random
from typing import Any

import orjson

TIERS = {"o3": (800, 1200, 40), "4o": (300, 500, 80), "o4-mini": (120, 200, 150)}
SERVICES = ["support-bot", "mobile-assistant", "research", "moderation"]
DEPLOYMENTS = ["cloud-east", "edge"]


def call_record(
    rng: random.Random, ts: float, tier: str, model: str, ttft_range: tuple[float, float], speed: float
) -> dict[str, Any]:
    """One call: TTFT drawn from the tier's range, then output tokens at ``speed`` per second; 1 % errors."""
    ttft = rng.uniform(*ttft_range)
    tokens_out = rng.randint(20, 600)
    rec: dict[str, Any] = {
        "ts": ts,
        "service": rng.choice(SERVICES),
        "tier": tier,
        "model": model,
        "deployment": rng.choice(DEPLOYMENTS),
        "latency_ms": round(ttft + tokens_out / speed * 1000, 3),
        "ttft_ms": round(ttft, 3),
        "tokens_in": rng.randint(50, 4000),
        "tokens_out": tokens_out,
    }
    if rng.random() < 0.01:
        rec["status"] = "error"
        rec["error_type"] = "timeout"
    return rec


def _records(first: int, count: int, start_ts: float, calls_per_s: float, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for n in range(first, first + count):
        tier = rng.choice(list(TIERS))
        low, high, speed = TIERS[tier]
        out.append(call_record(rng, start_ts + n / calls_per_s, tier, f"{tier}-2025-04-16", (low, high), speed))
    return out


def _batch(args: tuple[int, int, float, float]) -> bytes:
    first, size, start_ts, calls_per_s = args
    return gzip.compress(orjson.dumps({"records": _records(first, size, start_ts, calls_per_s, first)}), 6)


def stream(total: int, size: int, start_ts: float, calls_per_s: float) -> list[bytes]:
    """Batches covering ``total`` calls made at ``calls_per_s`` from ``start_ts``, in time order."""
    jobs = [(first, min(size, total - first), start_ts, calls_per_s) for first in range(0, total, size)]
    with mp.Pool() as pool:
        return pool.map(_batch, jobs, chunksize=64)


def batch_records(body: bytes) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = orjson.loads(gzip.decompress(body))["records"]
    return records
