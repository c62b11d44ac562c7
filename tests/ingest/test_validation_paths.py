"""The fast path (one msgspec decode) and the slow path (record by record) agree on every batch."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.ingest.validate import BatchRejected, TimeWindow, explain_rejection, validate_batch

NOW = time.time()
WINDOW = TimeWindow.around(datetime.fromtimestamp(NOW, UTC), 7)
_HOUR_AGO = datetime.fromtimestamp(NOW - 3600, UTC)

names = st.one_of(st.text(min_size=0, max_size=102), st.sampled_from(["o3", "4o", " ", "a\tb", "x" * 101]))
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=1e12),
    st.integers(min_value=-5, max_value=2**64),
    st.booleans(),
    st.none(),
)
times = st.one_of(
    st.floats(min_value=NOW - 8 * 86400, max_value=NOW + 600, allow_nan=False),
    # RFC 3339 an hour ago (inside the window), the same without an offset, and not a time.
    st.sampled_from([_HOUR_AGO.strftime("%Y-%m-%dT%H:%M:%SZ"), "yesterday", _HOUR_AGO.strftime("%Y-%m-%dT%H:%M:%S")]),
    st.none(),
)
FIELDS: dict[str, Any] = {
    "ts": times,
    "service": names,
    "tier": names,
    "model": st.one_of(names, st.none()),
    "deployment": st.one_of(names, st.none()),
    "latency_ms": numbers,
    "ttft_ms": numbers,
    "tokens_in": numbers,
    "tokens_out": numbers,
    "reasoning_tokens": numbers,
    "status": st.sampled_from(["ok", "error", "bad", None]),
    "error_type": st.one_of(names, st.none()),
    "cost": numbers,
    "cache_hit": st.one_of(st.booleans(), st.none(), st.just(1)),
    "energy_wh": numbers,
    "count": numbers,
    "window_s": numbers,
    "errors": numbers,
    "cache_hits": numbers,
    "unknown": numbers,
}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    rec = {"ts": NOW - 5, "service": "s", "tier": "4o", "latency_ms": 100.0}
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=4, unique=True)):
        rec[name] = draw(FIELDS[name])
    if draw(st.booleans()):
        rec.pop(draw(st.sampled_from(["ts", "service", "tier", "latency_ms"])))
    return rec


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=1, max_size=5))
def test_both_paths_agree_on_whether_a_batch_is_valid(batch: list[dict[str, Any]]) -> None:
    body = json.dumps({"records": batch}).encode()
    try:
        validate_batch(body, WINDOW)
        accepted = True
    except BatchRejected as rejected:
        accepted = False
        assert rejected.status == 400
        assert rejected.problems
        # Every reason names a record and a field: no unexplained rejection.
        assert all(p.index is not None and p.field is not None for p in rejected.problems)
    if accepted:
        # The slow path, asked to explain a batch the fast path accepted, finds nothing.
        explained = explain_rejection(body, WINDOW)
        assert explained.problems[0].index is None and explained.problems[0].field is None


@pytest.mark.parametrize("field", ["ts", "latency_ms", "ttft_ms", "cost", "energy_wh"])
def test_both_paths_reject_a_number_too_large_for_a_double(field: str) -> None:
    record: dict[str, Any] = {"ts": NOW - 5, "service": "s", "tier": "4o", "latency_ms": 1, field: "INF"}
    body = json.dumps({"records": [record]}).replace('"INF"', "1e999").encode()
    with pytest.raises(BatchRejected) as fast:
        validate_batch(body, WINDOW)
    assert [(p.index, p.field) for p in fast.value.problems] == [(0, field)]
