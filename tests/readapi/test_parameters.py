"""Read API parameters: every rule's 400 names its field, and the accepted forms work as the contract says."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from monitor.projects.models import Project
from tests.conftest import issue_key, post_records, record, roll_up_everything

METRICS = "/api/v1/metrics"
REPORT = "/api/v1/report"
BOTH = [METRICS, REPORT]
DAY = 86_400
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")

Params = Sequence[tuple[str, Any]]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read(client: Client, path: str, key: str | None, params: Params = ()) -> tuple[int, dict[str, Any]]:
    """GET ``path`` with the parameters in order (repeats kept); the body parsed as strict JSON."""
    query = urlencode([(name, str(value)) for name, value in params])
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = client.get(f"{path}?{query}" if query else path, headers=headers)
    if not response.get("Content-Type", "").startswith("application/json"):
        return response.status_code, {"not_json": response.content.decode(errors="replace")}
    return response.status_code, json.loads(response.content, parse_constant=_no_constants)


def seconds_of(text: str) -> int:
    assert RFC3339_UTC.fullmatch(text), text
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def rfc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_bad(status: int, body: dict[str, Any], field: str) -> None:
    assert status == 400, body
    assert set(body) == {"error", "details"}, body
    assert isinstance(body["error"], str) and body["error"].strip().endswith("."), body
    assert field in body["error"], body
    assert body["details"], body
    for item in body["details"]:
        assert set(item) == {"field", "message"}, body
        assert isinstance(item["message"], str) and item["message"], body
    assert [item["field"] for item in body["details"]] == [field], body


@pytest.fixture
def read_key(project: Project) -> str:
    return issue_key(project, "read")


def a_minute_ago_aligned() -> int:
    """The start of a UTC minute a few minutes back: whole minutes of recent data fit after it."""
    return (int(time.time()) // 60 - 5) * 60


# --- 400s ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BOTH)
def test_it_refuses_an_unknown_parameter_name_and_names_it(client, read_key, path):
    status, body = read(client, path, read_key, [("colour", "red")])
    assert_bad(status, body, "colour")


@pytest.mark.parametrize(("path", "foreign"), [(REPORT, "step"), (METRICS, "stability_interval")])
def test_it_refuses_the_other_endpoints_own_parameter(client, read_key, path, foreign):
    status, body = read(client, path, read_key, [(foreign, "120")])
    assert_bad(status, body, foreign)


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2025-13-01T00:00:00Z",  # no month 13
        "2025-06-01T00:00:00",  # no offset
        "2025-06-01",
        "nan",
        "inf",
        "1e400",
        "12:00",
    ],
)
def test_it_refuses_a_time_it_cannot_parse_and_names_the_field(client, read_key, path, name, value):
    status, body = read(client, path, read_key, [(name, value)])
    assert_bad(status, body, name)


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize(
    ("given_from", "given_to"),
    [
        ("-100000000000", "-99999999000"),  # about the year -1199
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:30:00+01:00"),  # 23:00 and 23:30 UTC of the year 0
    ],
)
def test_it_answers_a_range_before_the_year_1_with_a_400_not_a_crash(read_key, path, given_from, given_to):
    # A response time before the year 1 cannot be written in RFC 3339: a 5xx would be a defect.
    client = Client(raise_request_exception=False)
    status, body = read(client, path, read_key, [("from", given_from), ("to", given_to)])
    assert status == 400, body
    assert set(body) == {"error", "details"}
    assert [item["field"] for item in body["details"]] in (["from"], ["to"]), body


@pytest.mark.parametrize("path", BOTH)
def test_it_refuses_from_equal_to_to(client, read_key, path):
    at = int(time.time()) - 600
    status, body = read(client, path, read_key, [("from", at), ("to", at)])
    assert_bad(status, body, "from")


@pytest.mark.parametrize("path", BOTH)
def test_it_refuses_from_after_to(client, read_key, path):
    at = int(time.time()) - 600
    status, body = read(client, path, read_key, [("from", at), ("to", at - 60)])
    assert_bad(status, body, "from")


@pytest.mark.parametrize("path", BOTH)
def test_it_refuses_a_future_range_once_to_is_clipped_to_now(client, read_key, path):
    now = int(time.time())
    status, body = read(client, path, read_key, [("from", now + 600), ("to", now + 1200)])
    assert_bad(status, body, "from")


@pytest.mark.parametrize("path", BOTH)
def test_it_refuses_a_future_from_with_the_default_to(client, read_key, path):
    status, body = read(client, path, read_key, [("from", int(time.time()) + 600)])
    assert_bad(status, body, "from")


@pytest.mark.parametrize("path", BOTH)
def test_it_refuses_a_range_over_400_days(client, read_key, path):
    to = int(time.time()) - 60
    status, body = read(client, path, read_key, [("from", to - 400 * DAY - 1), ("to", to)])
    assert status == 400, body
    assert_bad(status, body, "from")


def test_it_accepts_a_report_over_exactly_400_days(client, read_key):
    to = int(time.time()) - 60
    status, body = read(client, REPORT, read_key, [("from", to - 400 * DAY), ("to", to)])
    assert status == 200, body
    assert seconds_of(body["to"]) - seconds_of(body["from"]) == 400 * DAY
    assert body["rows"] == []


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("value", ["colour", "tier,colour", "tiers", "Tier", "tier;service"])
def test_it_refuses_group_by_with_an_unknown_name(client, read_key, path, value):
    status, body = read(client, path, read_key, [("group_by", value)])
    assert_bad(status, body, "group_by")


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("value", ["tier,tier", "tier,service,tier", "model, model"])
def test_it_refuses_group_by_naming_a_dimension_twice(client, read_key, path, value):
    status, body = read(client, path, read_key, [("group_by", value)])
    assert_bad(status, body, "group_by")


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "abc", "", "60s", "1e3"])
def test_it_refuses_a_step_that_is_not_an_integer_of_at_least_one(client, read_key, value):
    status, body = read(client, METRICS, read_key, [("step", value)])
    assert_bad(status, body, "step")


def test_it_refuses_a_step_giving_more_than_10000_points(client, read_key):
    to = int(time.time()) - 60
    status, body = read(client, METRICS, read_key, [("from", to - 10_801), ("to", to), ("step", 1)])
    assert_bad(status, body, "step")
    # The default step (60) over 8 days is 11,520 points: refused as well, naming step.
    status, body = read(client, METRICS, read_key, [("from", to - 8 * DAY), ("to", to)])
    assert_bad(status, body, "step")


def test_it_accepts_a_step_giving_exactly_10000_points(client, read_key):
    start = (int(time.time()) - 20_000) // 10 * 10
    status, body = read(client, METRICS, read_key, [("from", start), ("to", start + 10_000), ("step", 1)])
    assert status == 200, body
    assert body["step_s"] == 1


@pytest.mark.parametrize("value", ["90", "30", "61", "0", "-60", "abc", "60.0"])
def test_it_refuses_a_stability_interval_that_is_not_a_multiple_of_60(client, read_key, value):
    status, body = read(client, REPORT, read_key, [("stability_interval", value)])
    assert_bad(status, body, "stability_interval")


@pytest.mark.parametrize("value", ["60", "120", "3600"])
def test_it_accepts_a_stability_interval_that_is_a_multiple_of_60(client, read_key, value):
    status, body = read(client, REPORT, read_key, [("stability_interval", value)])
    assert status == 200, body


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [
        (METRICS, "from", ["{t}", "{t}"]),
        (REPORT, "from", ["{t}", "{u}"]),
        (METRICS, "to", ["{u}", "{u}"]),
        (REPORT, "to", ["{u}", "{t}"]),
        (METRICS, "group_by", ["tier", "service"]),
        (REPORT, "group_by", ["tier", "tier"]),
        (METRICS, "step", ["60", "60"]),
        (REPORT, "stability_interval", ["60", "120"]),
        (METRICS, "project", ["acme", "acme"]),
        (REPORT, "project", ["acme", "acme"]),
    ],
)
def test_it_refuses_a_parameter_other_than_the_filters_given_twice(client, read_key, path, name, values):
    now = int(time.time())
    given = [(name, value.format(t=now - 3600, u=now - 60)) for value in values]
    status, body = read(client, path, read_key, given)
    assert_bad(status, body, name)


# --- accepted forms --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BOTH)
def test_it_accepts_integer_unix_seconds(client, read_key, path):
    start = a_minute_ago_aligned() - 600
    status, body = read(client, path, read_key, [("from", start), ("to", start + 300)])
    assert status == 200, body
    assert body["from"] == rfc(start)
    assert body["to"] == rfc(start + 300)


@pytest.mark.parametrize("path", BOTH)
def test_it_accepts_fractional_unix_seconds(client, read_key, path):
    start = a_minute_ago_aligned() - 600
    status, body = read(client, path, read_key, [("from", f"{start + 0.25}"), ("to", f"{start + 300.75}")])
    assert status == 200, body
    # The window is whole seconds: each bound lands within a second of what was asked.
    assert abs(seconds_of(body["from"]) - (start + 0.25)) < 1
    assert abs(seconds_of(body["to"]) - (start + 300.75)) < 1


@pytest.mark.parametrize("path", BOTH)
def test_it_accepts_rfc3339_with_z(client, read_key, path):
    start = a_minute_ago_aligned() - 600
    status, body = read(client, path, read_key, [("from", rfc(start)), ("to", rfc(start + 300))])
    assert status == 200, body
    assert body["from"] == rfc(start)
    assert body["to"] == rfc(start + 300)


@pytest.mark.parametrize("path", BOTH)
def test_it_accepts_rfc3339_with_an_offset_and_answers_in_utc(client, read_key, path):
    start = a_minute_ago_aligned() - 600
    plus_two = timezone(timedelta(hours=2))
    minus_five_thirty = timezone(-timedelta(hours=5, minutes=30))
    given_from = datetime.fromtimestamp(start, plus_two).isoformat()
    given_to = datetime.fromtimestamp(start + 300, minus_five_thirty).isoformat()
    assert given_from.endswith("+02:00") and given_to.endswith("-05:30")
    status, body = read(client, path, read_key, [("from", given_from), ("to", given_to)])
    assert status == 200, body
    assert body["from"] == rfc(start)
    assert body["to"] == rfc(start + 300)


@pytest.mark.parametrize("path", BOTH)
def test_it_clips_a_future_to_to_now(client, read_key, path):
    start = int(time.time()) - 600
    status, body = read(client, path, read_key, [("from", start), ("to", int(time.time()) + 86_400)])
    after = time.time()
    assert status == 200, body
    assert body["from"] == rfc(start)
    assert seconds_of(body["to"]) <= after, (body["to"], after)
    assert seconds_of(body["to"]) >= after - 5


@pytest.mark.parametrize("path", BOTH)
def test_it_reads_the_last_hour_by_default(client, read_key, path):
    before = time.time()
    status, body = read(client, path, read_key)
    after = time.time()
    assert status == 200, body
    start, end = seconds_of(body["from"]), seconds_of(body["to"])
    assert end - start == 3600
    assert before - 2 <= end <= after + 1


def test_it_answers_every_time_in_rfc3339_utc_ending_in_z(client, project, ingest_key, read_key):
    start = a_minute_ago_aligned()
    assert post_records(client, ingest_key, [record(ts=start + 10.5, tier="o3")]).status_code == 202
    roll_up_everything()
    status, body = read(client, METRICS, read_key, [("from", start - 90), ("to", start + 90)])
    assert status == 200, body
    times = [body["from"], body["to"]] + [p["t"] for s in body["series"] for p in s["points"]]
    assert len(times) > 2
    for text in times:
        assert isinstance(text, str) and RFC3339_UTC.fullmatch(text), f"{text!r} is not RFC 3339 UTC ending in Z"
    status, body = read(client, REPORT, read_key, [("from", f"{start - 90.5}")])
    assert status == 200, body
    assert RFC3339_UTC.fullmatch(body["from"]) and RFC3339_UTC.fullmatch(body["to"]), body


# --- filters ---------------------------------------------------------------------------------------


@pytest.fixture
def mixed(client, project, ingest_key) -> int:
    """Calls of three tiers, two services (one with a comma in its name), two deployments."""
    start = a_minute_ago_aligned()
    records = [
        record(ts=start + 1.5, tier="o3", service="chat", model="o3-2025-04-16"),
        record(ts=start + 2.5, tier="o3", service="chat", model="o3-2025-04-16"),
        record(ts=start + 3.5, tier="4o", service="chat", deployment="edge"),
        record(ts=start + 4.5, tier="o4-mini", service="billing,eu"),
        record(ts=start + 5.5, tier="o4-mini", service="billing,eu"),
        record(ts=start + 6.5, tier="o4-mini", service="billing"),
    ]
    assert post_records(client, ingest_key, records).status_code == 202
    roll_up_everything()
    return start


def _labels(body: dict[str, Any]) -> dict[tuple[str, ...], int]:
    """Requests per group, from a report's rows or a series' points."""
    if "rows" in body:
        return {tuple(r["labels"].values()): r["requests"] for r in body["rows"]}
    return {tuple(s["labels"].values()): sum(p["requests"] for p in s["points"]) for s in body["series"]}


def _range(start: int) -> Params:
    return [("from", start - 60), ("to", start + 120)]


@pytest.mark.parametrize("path", BOTH)
def test_a_repeated_filter_means_any_of(client, read_key, mixed, path):
    status, body = read(client, path, read_key, [*_range(mixed), ("tier", "o3"), ("tier", "4o")])
    assert status == 200, body
    assert _labels(body) == {("o3",): 2, ("4o",): 1}


@pytest.mark.parametrize("path", BOTH)
def test_a_filter_is_never_split_on_commas(client, read_key, mixed, path):
    status, body = read(client, path, read_key, [*_range(mixed), ("tier", "o3,4o")])
    assert status == 200, body
    assert _labels(body) == {}
    assert body.get("series", body.get("rows")) == []


@pytest.mark.parametrize("path", BOTH)
def test_a_filter_value_with_a_comma_matches_that_exact_value(client, read_key, mixed, path):
    params = [*_range(mixed), ("service", "billing,eu"), ("group_by", "service")]
    status, body = read(client, path, read_key, params)
    assert status == 200, body
    assert _labels(body) == {("billing,eu",): 2}


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize(
    ("name", "value"),
    [("tier", "O3"), ("tier", "o"), ("tier", "o3 "), ("service", "cha"), ("model", "o3"), ("deployment", "Edge")],
)
def test_a_filter_is_an_exact_match(client, read_key, mixed, path, name, value):
    status, body = read(client, path, read_key, [*_range(mixed), (name, value)])
    assert status == 200, body
    assert _labels(body) == {}


@pytest.mark.parametrize("path", BOTH)
def test_filters_on_different_dimensions_all_apply(client, read_key, mixed, path):
    params = [*_range(mixed), ("service", "chat"), ("deployment", "default"), ("group_by", "tier,model")]
    status, body = read(client, path, read_key, params)
    assert status == 200, body
    assert _labels(body) == {("o3", "o3-2025-04-16"): 2}


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize(
    "params",
    [
        [("tier", "no-such-tier")],
        [("service", "nobody")],
        [("model", "gpt-0")],
        [("deployment", "mars")],
        [("tier", "o3"), ("service", "billing")],
    ],
)
def test_values_that_match_nothing_give_empty_results(client, read_key, mixed, path, params):
    status, body = read(client, path, read_key, [*_range(mixed), *params])
    assert status == 200, body
    if path == METRICS:
        assert body["series"] == []
    else:
        assert body["rows"] == []
