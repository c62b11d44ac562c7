"""What /api/v1/metrics and /api/v1/report answer: their shapes, buckets and groups, and the OpenAPI document."""

from __future__ import annotations

import pytest

from monitor.projects.models import Project
from tests.conftest import issue_key, record, resolve_ref
from tests.readapi.helpers import (
    METRICS,
    POINT_KEYS,
    REPORT,
    ROW_KEYS,
    anchor,
    near,
    nulls_only,
    post,
    read,
    rfc,
    ten_o3_calls,
)


@pytest.fixture
def read_key(project: Project) -> str:
    return issue_key(project, "read")


# --- GET /api/v1/metrics ----------------------------------------------------------------------------


def test_metrics_answers_the_contracts_shape(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3", ttft_ms=100.0, tokens_out=20)])
    body = read(client, METRICS, read_key, [("from", a), ("to", a + 180)])
    assert list(body) == ["from", "to", "step_s", "group_by", "series"]
    assert body["from"] == rfc(a) and body["to"] == rfc(a + 180)
    assert body["step_s"] == 60
    assert body["group_by"] == ["tier"]
    assert len(body["series"]) == 1
    (series,) = body["series"]
    assert set(series) == {"labels", "points"}
    assert series["labels"] == {"tier": "o3"}
    assert len(series["points"]) == 3
    for point in series["points"]:
        assert set(point) == POINT_KEYS, point
        assert set(point["latency_ms"]) == {"mean", "p50", "p95", "p99"}
        assert set(point["ttft_ms"]) == {"mean", "p50", "p95", "p99"}
        assert isinstance(point["requests"], int)
    busy = series["points"][1]
    assert busy["requests"] == 1
    assert near(busy["latency_ms"]["mean"], 420.5) and near(busy["ttft_ms"]["p50"], 100.0)
    assert busy["tokens_out_per_s"] == pytest.approx(20 / 60)


def test_metrics_lists_every_bucket_from_from_to_to_with_its_start(client, ingest_key, read_key):
    a = anchor(8)
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3")])
    body = read(client, METRICS, read_key, [("from", a), ("to", a + 600)])
    (series,) = body["series"]
    assert [p["requests"] for p in series["points"]] == [0, 1] + [0] * 8
    assert [p["t"] for p in series["points"]] == [rfc(a + 60 * k) for k in range(10)]


def test_an_empty_bucket_has_zero_requests_and_every_other_value_null(client, ingest_key, read_key):
    a = anchor(8)
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3", ttft_ms=50.0, tokens_out=9, cost=0.2)])
    body = read(client, METRICS, read_key, [("from", a), ("to", a + 600)])
    (series,) = body["series"]
    points = series["points"]
    assert len(points) == 10
    for index, point in enumerate(points):
        if index == 1:
            continue
        assert point["requests"] == 0, point
        rest = {k: v for k, v in point.items() if k not in ("t", "requests")}
        assert set(rest) == POINT_KEYS - {"t", "requests"}
        assert nulls_only(rest), point
    busy = points[1]
    assert busy["requests"] == 1
    assert all(v is not None for k, v in busy.items() if not isinstance(v, dict)), busy


def test_buckets_are_aligned_to_the_epoch_and_the_first_starts_at_from(client, ingest_key, read_key):
    a = anchor(8)
    post(client, ingest_key, [record(ts=a + 20.5, tier="o3")])
    body = read(client, METRICS, read_key, [("from", a + 17), ("to", a + 290)])
    (series,) = body["series"]
    assert [p["requests"] for p in series["points"]] == [1, 0, 0, 0, 0]
    assert series["points"][0]["t"] == body["from"] == rfc(a + 17)
    assert [p["t"] for p in series["points"]] == [rfc(t) for t in (a + 17, a + 60, a + 120, a + 180, a + 240)]

    body = read(client, METRICS, read_key, [("from", a + 3), ("to", a + 50), ("step", 7)])
    (series,) = body["series"]
    first = (a + 3) - (a + 3) % 7
    starts = [max(s, a + 3) for s in range(first, a + 50, 7)]
    assert body["step_s"] == 7
    assert [p["t"] for p in series["points"]] == [rfc(t) for t in starts]


@pytest.mark.parametrize("path", [METRICS, REPORT])
def test_group_by_tier_and_service_labels_each_group_with_both(client, ingest_key, read_key, path):
    a = anchor()
    calls = [
        record(ts=a + 70.5, tier="o3", service="chat"),
        record(ts=a + 71.5, tier="o3", service="search"),
        record(ts=a + 72.5, tier="4o", service="chat"),
        record(ts=a + 73.5, tier="4o", service="chat"),
    ]
    post(client, ingest_key, calls)
    body = read(client, path, read_key, [("from", a), ("to", a + 180), ("group_by", "tier,service")])
    assert body["group_by"] == ["tier", "service"]
    groups = body["series"] if path == METRICS else body["rows"]
    labels = [g["labels"] for g in groups]
    assert all(list(label) == ["tier", "service"] for label in labels), labels
    assert sorted((label["tier"], label["service"]) for label in labels) == [
        ("4o", "chat"),
        ("o3", "chat"),
        ("o3", "search"),
    ]
    if path == METRICS:
        requests = {tuple(g["labels"].values()): sum(p["requests"] for p in g["points"]) for g in groups}
    else:
        requests = {tuple(g["labels"].values()): g["requests"] for g in groups}
    assert requests == {("4o", "chat"): 2, ("o3", "chat"): 1, ("o3", "search"): 1}


@pytest.mark.parametrize("path", [METRICS, REPORT])
def test_groups_without_calls_in_the_range_are_left_out(client, ingest_key, read_key, path):
    a = anchor()
    post(client, ingest_key, [record(ts=a - 600.5, tier="4o"), record(ts=a + 70.5, tier="o3")])
    body = read(client, path, read_key, [("from", a), ("to", a + 180)])
    groups = body["series"] if path == METRICS else body["rows"]
    assert [g["labels"] for g in groups] == [{"tier": "o3"}]
    # The 4o call is there when the range covers it; o4-mini (in the catalogue, never called) never is.
    body = read(client, path, read_key, [("from", a - 900), ("to", a + 180)])
    groups = body["series"] if path == METRICS else body["rows"]
    assert sorted(g["labels"]["tier"] for g in groups) == ["4o", "o3"]


@pytest.mark.parametrize("path", [METRICS, REPORT])
def test_a_range_without_calls_answers_no_groups(client, ingest_key, read_key, path):
    a = anchor()
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3")])
    body = read(client, path, read_key, [("from", a - 7200), ("to", a - 3600)])
    assert body["series" if path == METRICS else "rows"] == []


# --- GET /api/v1/report -----------------------------------------------------------------------------


def test_report_answers_one_row_per_group_with_every_field(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, [*ten_o3_calls(a + 60), record(ts=a + 30.5, tier="4o", ttft_ms=80.0)])
    body = read(client, REPORT, read_key, [("from", a), ("to", a + 180)])
    assert list(body) == ["from", "to", "group_by", "rows"]
    assert body["group_by"] == ["tier"]
    assert [row["labels"] for row in body["rows"]] == [{"tier": "4o"}, {"tier": "o3"}]
    for row in body["rows"]:
        assert set(row) == ROW_KEYS, sorted(set(row) ^ ROW_KEYS)
        assert set(row["latency_ms"]) == {"p50", "p95", "p99"}
        assert set(row["ttft_ms"]) == {"p50", "p95", "p99"}
        assert isinstance(row["requests"], int) and isinstance(row["errors"], int)
        for name in ("tokens_in", "tokens_out"):  # null for a group whose calls report no tokens
            assert row[name] is None or isinstance(row[name], int), (name, row[name])
    assert isinstance(body["rows"][1]["tokens_in"], int) and isinstance(body["rows"][1]["tokens_out"], int)


# --- OpenAPI -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "own", "items", "item_keys"),
    [
        (METRICS, "step", "series", {"labels", "points"}),
        (REPORT, "stability_interval", "rows", ROW_KEYS),
    ],
)
def test_the_openapi_document_describes_both_read_endpoints(client, db, path, own, items, item_keys):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert path in schema["paths"], sorted(schema["paths"])
    operation = schema["paths"][path]["get"]
    names = {resolve_ref(schema, p)["name"] for p in operation["parameters"]}
    assert {"from", "to", "group_by", own, "tier", "model", "service", "deployment"} <= names, names
    body = resolve_ref(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"from", "to", "group_by", items} <= set(body["properties"])
    item = resolve_ref(schema, body["properties"][items]["items"])
    assert item_keys <= set(item["properties"]), sorted(item_keys - set(item["properties"]))
    if path == METRICS:
        point = resolve_ref(schema, item["properties"]["points"]["items"])
        assert set(point["properties"]) >= POINT_KEYS
        assert "step_s" in body["properties"]
    for status in ("400", "401", "403"):
        assert status in operation["responses"], sorted(operation["responses"])
