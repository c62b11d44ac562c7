"""The demo generator: its traffic model keeps the seed's facts, and `simulate` delivers it like a real client."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from io import StringIO

import httpx
import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from monitor.catalogue.seeds import DEPRECATED_DEMO_MODEL, SEED_TIERS
from monitor.ingest.management.commands.simulate import BatchPoster, records_url
from monitor.ingest.schema import MAX_RECORDS
from monitor.ingest.simulation import BURST_ERROR_RATE, ERROR_TYPES, Record, TrafficModel
from monitor.ingest.validate import TimeWindow, validate_batch

ALL_TIERS = ["o3", "4o", "o4-mini"]


def model(tiers: list[str] | None = None, rate: float = 50, seed: int = 7) -> TrafficModel:
    return TrafficModel(tiers or ALL_TIERS, rate, old_4o_model=DEPRECATED_DEMO_MODEL, seed=seed)


def last_minutes(minutes: float, **kwargs) -> list[Record]:
    """Calls of the minutes that just ended, as the command asks for them: one second at a time."""
    traffic = model(**kwargs)
    start = time.time() - minutes * 60
    records: list[Record] = []
    for second in range(int(minutes * 60)):
        records += traffic.calls_between(start + second, start + second + 1)
    return records


@pytest.fixture(scope="module")
def ten_minutes() -> list[Record]:
    return last_minutes(10)


def by_tier(records: list[Record]) -> dict[str, list[Record]]:
    tiers: dict[str, list[Record]] = {}
    for r in records:
        tiers.setdefault(str(r["tier"]), []).append(r)
    return tiers


# --- the traffic model ---------------------------------------------------------------------------


def test_it_generates_only_records_the_server_accepts(ten_minutes):
    window = TimeWindow.around(timezone.now(), 7)
    assert any(r["status"] == "error" for r in ten_minutes), "the sample should hold failed calls too"
    calls = 0
    for i in range(0, len(ten_minutes), MAX_RECORDS):
        batch = ten_minutes[i : i + MAX_RECORDS]
        calls += validate_batch(orjson.dumps({"records": batch}), window).calls  # raises BatchRejected
    assert calls == len(ten_minutes)


def test_it_never_sends_a_cost_so_the_price_table_applies(ten_minutes):
    assert not [r for r in ten_minutes if "cost" in r]


def test_it_keeps_most_first_responses_inside_the_seed_ranges(ten_minutes):
    tiers = by_tier(ten_minutes)
    for profile in SEED_TIERS:
        ttfts = [float(r["ttft_ms"]) for r in tiers[profile.name] if "ttft_ms" in r]
        inside = [t for t in ttfts if profile.ttft_low_ms <= t <= profile.ttft_high_ms]
        assert profile.ttft_low_ms <= statistics.median(ttfts) <= profile.ttft_high_ms, profile.name
        assert len(inside) / len(ttfts) > 0.75, profile.name
        assert max(ttfts) > profile.ttft_high_ms, f"{profile.name} should have a slow tail"


def test_it_makes_latency_the_first_response_plus_decoding_at_the_tiers_speed(ten_minutes):
    speeds: dict[str, float] = {}
    for tier, records in by_tier(ten_minutes).items():
        ok = [r for r in records if r["status"] == "ok"]
        assert all(float(r["ttft_ms"]) <= float(r["latency_ms"]) for r in ok)
        speeds[tier] = statistics.median(
            int(r["tokens_out"]) / (float(r["latency_ms"]) - float(r["ttft_ms"])) * 1000 for r in ok
        )
    assert speeds["o3"] < speeds["4o"] < speeds["o4-mini"]


def test_it_counts_reasoning_tokens_for_o3_only_and_inside_tokens_out(ten_minutes):
    reasoning = [r for r in ten_minutes if "reasoning_tokens" in r]
    assert reasoning
    assert {r["tier"] for r in reasoning} == {"o3"}
    assert all(int(r["reasoning_tokens"]) <= int(r["tokens_out"]) for r in reasoning)


def test_it_sends_some_but_not_most_4o_traffic_to_the_deprecated_version(ten_minutes):
    models = Counter(r["model"] for r in by_tier(ten_minutes)["4o"])
    share = models[DEPRECATED_DEMO_MODEL] / sum(models.values())
    assert 0.03 < share < 0.25
    assert set(models) == {"4o-2024-11-20", DEPRECATED_DEMO_MODEL}


def test_it_maps_services_to_the_seed_scenarios(ten_minutes):
    routes = {(r["service"], r["tier"], r["deployment"]) for r in ten_minutes}
    assert routes == {
        ("research", "o3", "cloud-east"),
        ("support-bot", "4o", "cloud-east"),
        ("mobile-assistant", "o4-mini", "edge"),
        ("moderation", "o4-mini", "cloud-east"),
    }


def test_it_fails_a_small_share_of_calls_with_known_error_types(ten_minutes):
    errors = [r for r in ten_minutes if r["status"] == "error"]
    assert 0.001 < len(errors) / len(ten_minutes) < 0.05
    assert {r["error_type"] for r in errors} <= set(ERROR_TYPES)
    assert not [r for r in ten_minutes if r["status"] == "ok" and "error_type" in r]
    assert any(r.get("cache_hit") is True for r in ten_minutes)


def test_it_gives_one_tier_an_error_burst_every_few_minutes():
    traffic = model(rate=200)
    start = time.time() - 600
    in_burst: Counter[str] = Counter()
    failed_in_burst: Counter[str] = Counter()
    for second in range(600):
        for r in traffic.calls_between(start + second, start + second + 1):
            if traffic.burst_tier_at(float(r["ts"])) == r["tier"]:
                in_burst[str(r["tier"])] += 1
                failed_in_burst[str(r["tier"])] += r["status"] == "error"
    assert in_burst, "ten minutes should hold at least one burst"
    total_in_burst = sum(in_burst.values())
    assert abs(sum(failed_in_burst.values()) / total_in_burst - BURST_ERROR_RATE) < 0.05


def test_it_splits_traffic_across_the_chosen_tiers_only():
    tiers = Counter(r["tier"] for r in last_minutes(5, tiers=["4o", "o4-mini"]))
    assert set(tiers) == {"4o", "o4-mini"}
    assert 0.6 < tiers["4o"] / tiers["o4-mini"] < 0.8  # 35 : 50, renormalised


def test_it_draws_calls_at_the_rate_inside_the_interval_just_elapsed():
    traffic = model(rate=30)
    end = time.time()
    start = end - 120
    records = traffic.calls_between(start, end)
    stamps = [float(r["ts"]) for r in records]
    assert all(start <= ts < end for ts in stamps)
    assert stamps == sorted(stamps)
    assert 30 * 120 * 0.9 < len(records) < 30 * 120 * 1.1


def test_it_repeats_the_same_traffic_under_the_same_seed():
    assert model(seed=3).calls_between(1_000.0, 1_010.0) == model(seed=3).calls_between(1_000.0, 1_010.0)
    assert model(seed=3).calls_between(1_000.0, 1_010.0) != model(seed=4).calls_between(1_000.0, 1_010.0)


# --- posting batches ---------------------------------------------------------------------------------


class FakeTime:
    """A clock that waiting moves forward, so retry budgets pass instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


@dataclass
class Rig:
    poster: BatchPoster
    time: FakeTime
    requests: list[httpx.Request]


def rig(*answers: httpx.Response | Exception) -> Rig:
    """A poster whose server gives ``answers`` in turn: a response is returned, an exception raised."""
    replies = iter(answers)
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        answer = next(replies)
        if isinstance(answer, Exception):
            raise answer
        return answer

    fake = FakeTime()
    client = httpx.Client(transport=httpx.MockTransport(handler))
    poster = BatchPoster(client, "http://tw.test/api/v1/records", wait=fake.wait, clock=fake.clock, warn=lambda _: None)
    return Rig(poster, fake, requests)


def accepted(n: int) -> httpx.Response:
    return httpx.Response(202, json={"accepted": n})


def test_it_retries_a_batch_with_the_same_idempotency_key_and_honours_retry_after():
    r = rig(
        httpx.Response(503, headers={"Retry-After": "3"}, json={"error": "busy"}),
        httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "slow down"}),
        httpx.ReadTimeout("no answer"),
        accepted(2),
    )
    assert r.poster.send([{"ts": 1.0}, {"ts": 2.0}]) is True
    assert len(r.requests) == 4
    assert len({request.headers["Idempotency-Key"] for request in r.requests}) == 1
    assert r.time.waits[:2] == [3.0, 1.0]
    assert (r.poster.records, r.poster.batches, r.poster.retries) == (2, 1, 3)


def test_it_uses_a_new_idempotency_key_for_every_batch():
    r = rig(accepted(1), accepted(1), accepted(1))
    for _ in range(3):
        r.poster.send([{"ts": 1.0}])
    assert len({request.headers["Idempotency-Key"] for request in r.requests}) == 3


def test_it_counts_a_duplicate_answer_as_delivered():
    r = rig(httpx.Response(200, json={"accepted": 5, "duplicate": True}))
    assert r.poster.send([{"ts": 1.0}]) is True
    assert r.poster.records == 5


def test_it_sends_json_records_without_cost():
    r = rig(*[accepted(1)] * 10)
    traffic = model(rate=100)
    for second in range(10):
        r.poster.send(traffic.calls_between(float(second), second + 1.0))
    sent = [record for request in r.requests for record in orjson.loads(request.content)["records"]]
    assert len(sent) > 500
    assert not [record for record in sent if "cost" in record]


def test_it_keeps_waiting_for_a_server_that_is_still_starting():
    r = rig(*[httpx.ConnectError("connection refused")] * 5, accepted(1))
    assert r.poster.send([{"ts": 1.0}]) is True
    assert 0 < r.time.now < 60


def test_it_gives_up_on_a_server_it_cannot_reach_for_a_minute():
    r = rig(*[httpx.ConnectError("connection refused")] * 100)
    with pytest.raises(CommandError, match="cannot reach"):
        r.poster.send([{"ts": 1.0}])
    assert r.time.now == pytest.approx(60)


def test_it_drops_a_batch_the_server_stays_too_busy_to_take():
    r = rig(*[httpx.Response(503, headers={"Retry-After": "5"})] * 100)
    assert r.poster.send([{"ts": 1.0}, {"ts": 2.0}]) is False
    assert r.poster.dropped == 2 and r.poster.records == 0
    assert r.time.now <= 60


def test_it_stops_with_the_servers_error_on_a_client_error():
    r = rig(httpx.Response(400, json={"error": "record 0, ts is required."}))
    with pytest.raises(CommandError, match=r"400: record 0, ts is required\."):
        r.poster.send([{"service": "x"}])
    assert len(r.requests) == 1


def test_it_posts_to_the_records_endpoint_under_a_base_url():
    assert records_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/api/v1/records"
    assert records_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/api/v1/records"
    assert records_url("https://tw.example/api/v1/records") == "https://tw.example/api/v1/records"
    with pytest.raises(CommandError):
        records_url("127.0.0.1:8000")


# --- the command, end to end ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_posts_demo_traffic_that_lands_in_the_raw_store(live_server, project, ingest_key):
    out = StringIO()
    call_command("simulate", url=live_server.url, key=ingest_key, rate=40, duration=2, seed=11, stdout=out)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(r.calls) FROM raw_records r JOIN store_ingestbatch b ON b.id = r.batch_id"
            " WHERE b.project_id = %s",
            [project.id],
        )
        rows, calls = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), count(DISTINCT idempotency_key), sum(records) FROM store_ingestbatch"
            " WHERE project_id = %s",
            [project.id],
        )
        batches, keys, records = cursor.fetchone()
    assert rows > 0 and calls == rows
    assert batches >= 1 and keys == batches and records == rows
    assert f"sent {rows:,} records in {batches:,} batches" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_splits_a_busy_second_into_batches_the_server_takes(live_server, project, ingest_key):
    call_command("simulate", url=live_server.url, key=ingest_key, rate=15_000, duration=1, seed=5, stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(records), sum(records) FROM store_ingestbatch WHERE project_id = %s", [project.id]
        )
        batches, largest, records = cursor.fetchone()
    assert records > MAX_RECORDS
    assert batches >= 2 and largest <= MAX_RECORDS


@pytest.mark.django_db(transaction=True)
def test_it_stops_with_the_servers_error_when_the_key_is_refused(live_server, project):
    with pytest.raises(CommandError, match="401"):
        call_command("simulate", url=live_server.url, key="tw_nonsense0secret", rate=50, duration=2, seed=1)


def test_it_refuses_a_tier_that_is_not_in_the_seed_catalogue():
    with pytest.raises(CommandError, match=r"'gpt-5'.*o3, 4o, o4-mini"):
        call_command("simulate", url="http://127.0.0.1:9", key="tw_x", tiers="o3,gpt-5", duration=1)


@pytest.mark.parametrize("rate", [0, -5])
def test_it_refuses_a_rate_that_is_not_positive(rate):
    with pytest.raises(CommandError, match="--rate"):
        call_command("simulate", url="http://127.0.0.1:9", key="tw_x", rate=rate, duration=1)
