"""Every field rule of a RECORD: a bad value is a 400 naming the field and index, and stores nothing."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import post_records, record
from tests.ingest.helpers import counts

ABSENT = object()


def now_plus(seconds: float) -> Any:
    """A time relative to when the test runs (not when the module was imported)."""
    return lambda: time.time() + seconds


def rfc3339_ago(seconds: float, offset_hours: int = 0, fraction: bool = False) -> Any:
    """That time as an RFC 3339 string with an offset, made when the test runs."""

    def make() -> str:
        zone = timezone(timedelta(hours=offset_hours))
        at = datetime.fromtimestamp(time.time() - seconds, zone).replace(microsecond=123456 if fraction else 0)
        text = at.isoformat()
        return text.replace("+00:00", "Z") if offset_hours == 0 else text

    return make


# (overrides, field the 400 must name). ABSENT removes a field.
INVALID: list[tuple[dict[str, Any], str]] = [
    ({"ts": ABSENT}, "ts"),
    ({"ts": None}, "ts"),
    ({"ts": True}, "ts"),
    ({"ts": "yesterday"}, "ts"),
    ({"ts": "2026-11-23T10:00:00"}, "ts"),  # no offset
    ({"ts": "2026-11-23"}, "ts"),
    ({"ts": now_plus(310)}, "ts"),
    ({"ts": now_plus(-7 * 86400 - 60)}, "ts"),
    ({"ts": [1.0]}, "ts"),
    ({"service": ABSENT}, "service"),
    ({"service": ""}, "service"),
    ({"service": "   "}, "service"),
    ({"service": "a\tb"}, "service"),
    ({"service": "a\u0085b"}, "service"),  # a C1 control character
    ({"service": "x" * 101}, "service"),
    ({"service": 7}, "service"),
    ({"tier": ABSENT}, "tier"),
    ({"tier": "o3\n"}, "tier"),
    ({"tier": "t" * 101}, "tier"),
    ({"model": ""}, "model"),
    ({"model": "m" * 101}, "model"),
    ({"model": "\x00"}, "model"),
    ({"deployment": " "}, "deployment"),
    ({"deployment": 1.5}, "deployment"),
    ({"latency_ms": ABSENT}, "latency_ms"),
    ({"latency_ms": -0.001}, "latency_ms"),
    ({"latency_ms": "12"}, "latency_ms"),
    ({"latency_ms": True}, "latency_ms"),
    ({"latency_ms": 1e11}, "latency_ms"),  # past the bound that keeps rollup sums finite
    ({"latency_ms": 1.7e308}, "latency_ms"),
    ({"ttft_ms": -1}, "ttft_ms"),
    ({"ttft_ms": 500, "latency_ms": 499.9}, "ttft_ms"),
    ({"ttft_ms": False}, "ttft_ms"),
    ({"tokens_in": -1}, "tokens_in"),
    ({"tokens_in": 1.0}, "tokens_in"),
    ({"tokens_in": 1.5}, "tokens_in"),
    ({"tokens_in": True}, "tokens_in"),
    ({"tokens_in": 2**63}, "tokens_in"),
    ({"tokens_out": "10"}, "tokens_out"),
    ({"reasoning_tokens": 11, "tokens_out": 10}, "reasoning_tokens"),
    ({"reasoning_tokens": 5}, "reasoning_tokens"),  # part of tokens_out, which is missing
    ({"reasoning_tokens": -1, "tokens_out": 10}, "reasoning_tokens"),
    ({"status": "failed"}, "status"),
    ({"status": "OK"}, "status"),
    ({"status": 0}, "status"),
    ({"error_type": "", "status": "error"}, "error_type"),
    ({"error_type": "a\rb", "status": "error"}, "error_type"),
    ({"error_type": "e" * 101, "status": "error"}, "error_type"),
    ({"cost": -0.01}, "cost"),
    ({"cost": "0.1"}, "cost"),
    ({"cost": 1e10}, "cost"),
    ({"cache_hit": 1}, "cache_hit"),
    ({"cache_hit": "true"}, "cache_hit"),
    ({"energy_wh": -2}, "energy_wh"),
    ({"energy_wh": True}, "energy_wh"),
    ({"energy_wh": 1e13}, "energy_wh"),
    ({"colour": "blue"}, "colour"),  # unknown field
    ({"errors": 1}, "errors"),  # summary-only field on a single call
    ({"cache_hits": 1}, "cache_hits"),
    # window summaries
    ({"count": 10}, "window_s"),
    ({"window_s": 60}, "count"),
    ({"count": 0, "window_s": 60}, "count"),
    ({"count": 1.0, "window_s": 60}, "count"),
    ({"count": 10, "window_s": 0}, "window_s"),
    ({"count": 10, "window_s": 60, "errors": 11}, "errors"),
    ({"count": 10, "window_s": 60, "errors": -1}, "errors"),
    ({"count": 10, "window_s": 60, "cache_hits": 11}, "cache_hits"),
    ({"count": 10, "window_s": 60, "status": "ok"}, "status"),
    ({"count": 10, "window_s": 60, "cache_hit": True}, "cache_hit"),
]

VALID: list[dict[str, Any]] = [
    {"ts": now_plus(-2)},
    {"ts": now_plus(290)},
    {"ts": now_plus(-7 * 86400 + 60)},
    {"ts": rfc3339_ago(3600)},  # ends in Z
    {"ts": rfc3339_ago(86400, offset_hours=8, fraction=True)},  # +08:00, microseconds
    {"service": "客服机器人"},  # any language
    {"service": "😀" * 100},  # lengths count code points
    {"model": None, "deployment": None, "ttft_ms": None},  # null means absent
    {"ttft_ms": 420.5},  # equal to latency_ms
    {"latency_ms": 0},
    {"tokens_in": 0, "tokens_out": 10, "reasoning_tokens": 10},
    {"tokens_in": 2**63 - 1},
    {"status": "error", "error_type": "timeout"},
    {"cost": 0},
    {"cost": 0.000000001},
    {"cache_hit": False, "energy_wh": 0.5},
    {"count": 1200, "window_s": 60, "errors": 1200, "cache_hits": 0, "error_type": "rate_limited"},
    {"error_type": "timeout"},  # the contract does not tie it to status
    {"count": 10, "window_s": 60, "error_type": "timeout"},
]


def _apply(overrides: dict[str, Any]) -> dict[str, Any]:
    rec = record()
    for name, value in overrides.items():
        if value is ABSENT:
            rec.pop(name, None)
        else:
            rec[name] = value() if callable(value) else value
    return rec


@pytest.mark.parametrize(("overrides", "field"), INVALID, ids=[f"{f}:{o!r}"[:60] for o, f in INVALID])
def test_it_rejects_an_invalid_field_naming_it(client, project, ingest_key, overrides, field):
    good = record()
    bad = _apply(overrides)
    response = post_records(client, ingest_key, [good, bad])
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert {"index": 1, "field": field} in [{"index": d["index"], "field": d["field"]} for d in body["details"]]
    assert all(d["message"] for d in body["details"])
    assert counts(project.pk) == {"rows": 0, "batches": 0, "series": 0}


@pytest.mark.parametrize("overrides", VALID, ids=[repr(o)[:60] for o in VALID])
def test_it_accepts_a_valid_field_value(client, project, ingest_key, overrides):
    response = post_records(client, ingest_key, [_apply(overrides)])
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 1}
    assert counts(project.pk)["rows"] == 1


def test_it_lists_every_bad_record_up_to_a_hundred(client, project, ingest_key):
    records = [record(latency_ms=-1) for _ in range(150)]
    body = post_records(client, ingest_key, records).json()
    assert len(body["details"]) == 100
    assert [d["index"] for d in body["details"]] == list(range(100))


def test_it_reports_several_problems_in_one_batch_by_index(client, project, ingest_key):
    records = [record(), record(tokens_in=-5), record(), record(status="maybe"), record(service="")]
    details = post_records(client, ingest_key, records).json()["details"]
    assert [(d["index"], d["field"]) for d in details] == [(1, "tokens_in"), (3, "status"), (4, "service")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b'{"records": [], "extra": 1}', "extra"),
        (b'{"records": {}}', "records"),
        (b'{"records": []}', "records"),
        (b"[]", None),
        (b"null", None),
        (b" ", None),
        (b'{"records": [NaN]}', None),
        (b'{"records": [{"ts": Infinity}]}', None),
        ('{"records": "\udcff"}'.encode("utf-8", "surrogatepass"), None),
        (b'{"records": ' + b"[" * 5000 + b"]" * 5000 + b"}", None),  # nested past the decoder's depth
    ],
)
def test_it_rejects_a_malformed_batch_with_a_batch_level_detail(client, project, ingest_key, body, field):
    response = post_records(client, ingest_key, body=body)
    assert response.status_code == 400, response.content
    details = response.json()["details"]
    assert details and details[0]["index"] is None
    assert details[0]["field"] == field
    assert counts(project.pk)["batches"] == 0


def test_it_rejects_an_infinite_latency_written_as_a_huge_number(client, project, ingest_key):
    body = b'{"records": [{"ts": %f, "service": "s", "tier": "4o", "latency_ms": 1e999}]}' % time.time()
    response = post_records(client, ingest_key, body=body)
    assert response.status_code == 400
    assert response.json()["details"][0] == {
        "index": 0,
        "field": "latency_ms",
        "message": response.json()["details"][0]["message"],
    }
    assert response.json()["details"][0]["field"] == "latency_ms"
