"""What the read API tests share: paths, the keys an answer holds, a strict reader, and test data."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from tests.conftest import post_records, record, roll_up_everything

METRICS = "/api/v1/metrics"
REPORT = "/api/v1/report"
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")

POINT_KEYS = {
    "t",
    "requests",
    "qps",
    "peak_qps",
    "error_rate",
    "latency_ms",
    "ttft_ms",
    "tokens_out_per_s",
    "cost",
    "cost_per_call",
}
ROW_KEYS = {
    "labels",
    "requests",
    "errors",
    "avg_latency_ms",
    "latency_ms",
    "ttft_ms",
    "peak_qps",
    "error_rate",
    "availability",
    "stability",
    "cost_per_call",
    "total_cost",
    "projected_daily_cost",
    "tokens_in",
    "tokens_out",
    "tokens_out_per_s",
    "cache_hit_rate",
    "energy_per_call_wh",
}
RATIOS = ("error_rate", "availability", "stability", "cache_hit_rate")

Params = Sequence[tuple[str, Any]]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read(client: Client, path: str, key: str, params: Params = ()) -> dict[str, Any]:
    """A 200 answer's body, parsed by a JSON parser that refuses NaN and Infinity."""
    query = urlencode([(name, str(value)) for name, value in params])
    response = client.get(f"{path}?{query}" if query else path, headers={"Authorization": f"Bearer {key}"})
    body: dict[str, Any] = json.loads(response.content, parse_constant=_no_constants)
    assert response.status_code == 200, body
    return body


def rfc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def near(measured: float | None, *candidates: float) -> bool:
    """Within 1 % of one of the candidates (nearest-rank or interpolated percentile)."""
    return measured is not None and any(abs(measured - c) <= 0.01 * abs(c) + 1e-9 for c in candidates)


def anchor(minutes_back: int = 6) -> int:
    """A start aligned to 120 s (so to UTC minutes too), at least ``minutes_back`` minutes ago."""
    return (int(time.time()) // 120 - minutes_back) * 120


def post(client: Client, key: str, records: list[dict[str, Any]]) -> None:
    response = post_records(client, key, records)
    assert response.status_code == 202, response.content
    roll_up_everything()


def nulls_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(nulls_only(v) for v in value.values())
    return value is None


def ten_o3_calls(minute: int) -> list[dict[str, Any]]:
    """10 o3 calls in one UTC minute: latencies 100..1000 ms, 2 errors, 3 calls in one second,
    100 tokens in and 50 out each, cache_hit on 4 (3 hits), energy on 2 (1 and 3 Wh); no cost, no TTFT."""
    seconds = [10.1, 10.4, 10.9, 12.5, 13.5, 14.5, 15.5, 16.5, 17.5, 18.5]
    calls = []
    for i, second in enumerate(seconds):
        call = record(
            ts=minute + second,
            tier="o3",
            service="research",
            latency_ms=100.0 * (i + 1),
            tokens_in=100,
            tokens_out=50,
        )
        if i < 2:
            call["status"] = "error"
        if i < 4:
            call["cache_hit"] = i != 3
        if i in (4, 5):
            call["energy_wh"] = 1.0 if i == 4 else 3.0
        calls.append(call)
    return calls
