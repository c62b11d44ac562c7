"""What an accepted batch stores: exact values, defaults, costs, series and catalogue entries."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from monitor.catalogue.models import ModelVersion, Price, Series, Tier
from tests.conftest import post_records, record
from tests.ingest.helpers import counts, stored_rows


def test_it_stores_a_call_with_every_field(client, project, ingest_key):
    ts = time.time() - 10
    post_records(
        client,
        ingest_key,
        [
            record(
                ts=ts,
                service="research",
                tier="o3",
                model="o3-2025-04-16",
                deployment="cloud-east",
                latency_ms=1834.25,
                ttft_ms=912.5,
                tokens_in=812,
                tokens_out=430,
                reasoning_tokens=300,
                status="error",
                error_type="time\\out",
                cost=0.15,
                cache_hit=True,
                energy_wh=0.023,
            )
        ],
    )
    (row,) = stored_rows(project.pk)
    assert row["ts_us"] // 1_000_000 == int(ts)
    assert (row["service"], row["tier"], row["model"], row["deployment"]) == (
        "research",
        "o3",
        "o3-2025-04-16",
        "cloud-east",
    )
    assert row["latency_ms"] == 1834.25 and row["ttft_ms"] == 912.5
    assert (row["tokens_in"], row["tokens_out"], row["reasoning_tokens"]) == (812, 430, 300)
    assert (row["calls"], row["errors"], row["cache_hits"], row["window_s"]) == (1, 1, 1, None)
    assert row["error_type"] == "time\\out"
    assert row["cost_nano"] == 150_000_000
    assert row["energy_wh"] == 0.023


def test_a_call_belongs_to_the_floor_of_its_timestamp(client, project, ingest_key):
    # A microsecond either side of a boundary (a float64 resolves ~0.24 µs at today's epoch).
    second = int(time.time()) - 30
    post_records(client, ingest_key, [record(ts=second + 0.999999), record(ts=second), record(ts=second - 0.000001)])
    seconds = [row["ts_us"] // 1_000_000 for row in stored_rows(project.pk)]
    assert sorted(seconds) == [second - 1, second, second]


def test_an_rfc3339_time_with_an_offset_is_stored_in_utc(client, project, ingest_key):
    now = datetime.now(UTC).replace(microsecond=250_000)
    local = now.astimezone().isoformat()
    shifted = now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"
    post_records(client, ingest_key, [record(ts=local), record(ts=shifted)])
    expected = int(now.timestamp() * 1_000_000)
    assert [row["ts_us"] for row in stored_rows(project.pk)] == [expected, expected]


def test_model_defaults_to_the_tier_and_deployment_to_default(client, project, ingest_key):
    post_records(client, ingest_key, [record(tier="o4-mini")])
    (row,) = stored_rows(project.pk)
    assert (row["model"], row["deployment"]) == ("o4-mini", "default")


def test_a_window_summary_stores_its_calls_errors_and_totals(client, project, ingest_key):
    post_records(
        client,
        ingest_key,
        [record(count=1200, window_s=60, errors=3, cache_hits=40, tokens_out=90_000, latency_ms=161.2)],
    )
    (row,) = stored_rows(project.pk)
    assert (row["calls"], row["errors"], row["cache_hits"], row["window_s"]) == (1200, 3, 40, 60)
    assert row["latency_ms"] == 161.2 and row["tokens_out"] == 90_000


def test_an_omitted_cost_comes_from_the_seed_per_call_price(client, project, ingest_key):
    post_records(
        client,
        ingest_key,
        [record(tier="o3"), record(tier="4o"), record(tier="o4-mini"), record(tier="o3", count=10, window_s=5)],
    )
    costs = {(row["tier"], row["calls"]): row["cost_nano"] for row in stored_rows(project.pk)}
    assert costs == {
        ("o3", 1): 150_000_000,
        ("4o", 1): 80_000_000,
        ("o4-mini", 1): 30_000_000,
        ("o3", 10): 1_500_000_000,
    }


def test_a_tier_without_a_price_leaves_cost_empty(client, project, ingest_key):
    post_records(client, ingest_key, [record(tier="llama-70b")])
    assert stored_rows(project.pk)[0]["cost_nano"] is None


def test_a_model_price_per_million_tokens_wins_over_the_tier_price(client, project, ingest_key):
    tier = Tier.objects.get(project=project, name="4o")
    model = ModelVersion.objects.create(project=project, tier=tier, name="4o-2024-11-20")
    Price.objects.create(
        project=project,
        model=model,
        effective_from=datetime(2020, 1, 1, tzinfo=UTC),
        per_call=Decimal("0.001"),
        per_million_input=Decimal("2.5"),
        per_million_output=Decimal("10"),
    )
    post_records(client, ingest_key, [record(tier="4o", model="4o-2024-11-20", tokens_in=1000, tokens_out=300)])
    # 0.001 + 1000 × 2.5 / 1e6 + 300 × 10 / 1e6 = 0.0065
    assert stored_rows(project.pk)[0]["cost_nano"] == 6_500_000


def test_the_price_in_effect_at_the_call_time_applies(client, project, ingest_key):
    tier = Tier.objects.get(project=project, name="o3")
    change = int(time.time()) - 3600
    Price.objects.create(
        project=project,
        tier=tier,
        effective_from=datetime.fromtimestamp(change, UTC),
        per_call=Decimal("0.12"),
    )
    post_records(client, ingest_key, [record(tier="o3", ts=change - 1), record(tier="o3", ts=change)])
    assert [row["cost_nano"] for row in stored_rows(project.pk)] == [150_000_000, 120_000_000]


def test_a_reported_cost_is_kept_exactly(client, project, ingest_key):
    post_records(client, ingest_key, [record(cost=0.1), record(cost=0.2), record(cost=1234.000000001)])
    assert sorted(row["cost_nano"] for row in stored_rows(project.pk)) == [
        100_000_000,
        200_000_000,
        1_234_000_000_001,
    ]


def test_unknown_tiers_models_services_and_deployments_are_registered_on_first_sight(client, project, ingest_key):
    post_records(
        client,
        ingest_key,
        [record(service="新服务", tier="gemini-pro", model="gemini-pro-002", deployment="edge")] * 3,
    )
    tier = Tier.objects.get(project=project, name="gemini-pro")
    model = ModelVersion.objects.get(project=project, name="gemini-pro-002")
    assert model.tier == tier and model.lifecycle == "active"
    series = Series.objects.get(project=project)
    assert (series.service, series.tier, series.model, series.deployment) == ("新服务", tier, model, "edge")


def test_a_known_series_is_reused(client, project, ingest_key):
    post_records(client, ingest_key, [record()])
    post_records(client, ingest_key, [record(), record(deployment="edge")])
    assert counts(project.pk)["series"] == 2
    assert len({row["series_id"] for row in stored_rows(project.pk)}) == 2


def test_the_series_limit_rejects_the_whole_batch_and_registers_nothing(client, project, ingest_key):
    project.series_limit = 2
    project.save()
    assert post_records(client, ingest_key, [record(service="a"), record(service="b")]).status_code == 202
    response = post_records(client, ingest_key, [record(service="a"), record(service="c", tier="new-tier")])
    assert response.status_code == 400
    assert response.json()["details"][0]["index"] is None
    assert "series limit" in response.json()["error"]
    assert counts(project.pk) == {"rows": 2, "batches": 1, "series": 2}
    assert not Tier.objects.filter(project=project, name="new-tier").exists()


def test_one_bad_record_stores_nothing_of_its_batch(client, project, ingest_key):
    records = [record(service=f"svc-{i}") for i in range(999)] + [record(latency_ms=-1)]
    assert post_records(client, ingest_key, records).status_code == 400
    assert counts(project.pk) == {"rows": 0, "batches": 0, "series": 0}
    assert Tier.objects.filter(project=project).count() == 3  # only the seed tiers


def test_records_posted_with_a_projects_key_land_in_that_project_alone(client, project, other_project, ingest_key):
    from tests.conftest import issue_key

    post_records(client, ingest_key, [record(service="acme-svc")] * 2)
    post_records(client, issue_key(other_project), [record(service="globex-svc")] * 5)
    assert {row["service"] for row in stored_rows(project.pk)} == {"acme-svc"}
    assert {row["service"] for row in stored_rows(other_project.pk)} == {"globex-svc"}
    assert counts(project.pk)["rows"] == 2 and counts(other_project.pk)["rows"] == 5
    assert not Series.objects.filter(project=project, service="globex-svc").exists()


def test_a_missing_partition_is_made_on_demand(client, project, ingest_key):
    from django.db import connection

    from monitor.store.partitions import partition_name

    today = partition_name(datetime.now(UTC).date())
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {today}")
    assert post_records(client, ingest_key, [record()]).status_code == 202
    assert counts(project.pk)["rows"] == 1


def test_a_price_per_token_leaves_cost_empty_for_a_call_without_token_counts(client, project, ingest_key):
    tier = Tier.objects.create(project=project, name="metered")
    Price.objects.create(
        project=project, tier=tier, effective_from=datetime(2020, 1, 1, tzinfo=UTC), per_million_output=Decimal("8")
    )
    post_records(client, ingest_key, [record(tier="metered"), record(tier="metered", tokens_out=1000)])
    assert sorted(row["cost_nano"] or 0 for row in stored_rows(project.pk)) == [0, 8_000_000]
    assert [row["cost_nano"] for row in stored_rows(project.pk)].count(None) == 1


def test_a_price_table_cost_too_large_to_store_is_a_400_naming_the_record(client, project, ingest_key):
    tier = Tier.objects.create(project=project, name="metered")
    Price.objects.create(
        project=project, tier=tier, effective_from=datetime(2020, 1, 1, tzinfo=UTC), per_million_input=Decimal("2.5")
    )
    response = post_records(client, ingest_key, [record(tier="metered"), record(tier="metered", tokens_in=4 * 10**15)])
    assert response.status_code == 400
    assert response.json()["details"][0]["index"] == 1
    assert response.json()["details"][0]["field"] == "cost"
    assert counts(project.pk)["batches"] == 0


def test_a_tier_that_has_taken_calls_cannot_be_deleted_but_its_project_can(client, project, ingest_key):
    import pytest
    from django.db.models import RestrictedError

    post_records(client, ingest_key, [record(tier="4o")])
    with pytest.raises(RestrictedError):
        Tier.objects.get(project=project, name="4o").delete()
    project.delete()
    assert not Series.objects.filter(project_id=project.pk).exists()
