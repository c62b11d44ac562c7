"""The tier advisor's custom scenario: parsing and validating its parameters, and the latency budget."""

from __future__ import annotations

import pytest

from dashboards.advisor import CUSTOM_PARAMS, AdvisorParamError, TierFacts, evaluate, parse_custom
from tests.dashboards.advisor_helpers import O4_MINI, SEED_TIERS, by_tier, outcomes

# --- custom scenario ---------------------------------------------------------------------


def test_parse_custom_reads_every_constraint() -> None:
    custom = parse_custom(
        {
            "ttft_budget_ms": "250",
            "latency_p99_budget_ms": "1500",
            "min_context": "8000",
            "max_cost": "0.05",
            "headroom": "on",
        }
    )
    assert custom.key == "custom"
    assert custom.seed_pick is None
    assert custom.ttft_budget_ms == 250
    assert custom.latency_budget_ms == 1500
    assert custom.min_context_tokens == 8000
    assert custom.max_cost_per_call == 0.05
    assert custom.needs_headroom
    assert custom.stated_needs == ()


def test_parse_custom_treats_blank_as_no_constraint_and_ignores_other_parameters() -> None:
    custom = parse_custom(
        {"ttft_budget_ms": " ", "latency_p99_budget_ms": "", "min_context": "", "max_cost": "0.1", "from": "x"}
    )
    assert custom.ttft_budget_ms is None
    assert custom.latency_budget_ms is None
    assert custom.min_context_tokens is None
    assert custom.max_cost_per_call == 0.1
    assert not custom.needs_headroom


@pytest.mark.parametrize("value", ["1", "on", "ON", "true"])
def test_parse_custom_headroom_alone_is_a_scenario(value: str) -> None:
    assert parse_custom({"headroom": value}).needs_headroom


def test_a_custom_scenario_is_judged_like_a_preset() -> None:
    custom = parse_custom({"ttft_budget_ms": "500", "max_cost": "0.1"})
    verdicts = by_tier(evaluate(custom, SEED_TIERS))
    assert {t: v.qualifies for t, v in verdicts.items()} == {"o3": False, "4o": True, "o4-mini": True}


# --- latency budget ----------------------------------------------------------------------


def test_a_latency_budget_alone_is_a_scenario_checked_against_latency_p99() -> None:
    custom = parse_custom({"latency_p99_budget_ms": "2000"})
    assert custom.latency_budget_ms == 2000
    assert custom.ttft_budget_ms is None
    verdicts = by_tier(evaluate(custom, SEED_TIERS))

    assert {t: v.qualifies for t, v in verdicts.items()} == {"o3": False, "4o": True, "o4-mini": True}
    o3 = verdicts["o3"]
    assert outcomes(o3) == {"latency p99 ≤ 2,000 ms": "fail"}
    assert o3.checks[0].detail == "measured 4,200 ms, over the 2,000 ms budget"
    assert "latency p99 4,200 ms > 2,000 ms" in o3.reason
    assert "latency p99 1,800 ms ≤ 2,000 ms" in verdicts["4o"].reason


def test_the_latency_budget_is_checked_alongside_the_ttft_budget() -> None:
    # 4o's first token comes in time (450 ms) but the whole call takes 1,800 ms at p99.
    custom = parse_custom({"ttft_budget_ms": "500", "latency_p99_budget_ms": "1000"})
    verdicts = by_tier(evaluate(custom, SEED_TIERS))

    assert [t for t, v in verdicts.items() if v.qualifies] == ["o4-mini"]
    assert outcomes(verdicts["4o"]) == {"TTFT p95 ≤ 500 ms": "pass", "latency p99 ≤ 1,000 ms": "fail"}
    assert outcomes(verdicts["o3"]) == {"TTFT p95 ≤ 500 ms": "fail", "latency p99 ≤ 1,000 ms": "fail"}


def test_latency_exactly_on_the_budget_passes_and_no_calls_is_unknown() -> None:
    custom = parse_custom({"latency_p99_budget_ms": "700"})
    assert evaluate(custom, [O4_MINI])[0].qualifies

    [idle] = evaluate(custom, [TierFacts(name="o5", rated_qps=10)])
    assert not idle.qualifies
    assert (idle.checks[0].outcome, idle.checks[0].detail) == ("unknown", "no calls in this range")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ttft_budget_ms": "fast"}, "ttft_budget_ms"),
        ({"ttft_budget_ms": "-1"}, "ttft_budget_ms"),
        ({"ttft_budget_ms": "nan"}, "ttft_budget_ms"),
        ({"ttft_budget_ms": "inf"}, "ttft_budget_ms"),
        ({"latency_p99_budget_ms": "slow"}, "latency_p99_budget_ms"),
        ({"latency_p99_budget_ms": "-5"}, "latency_p99_budget_ms"),
        ({"min_context": "32k"}, "min_context"),
        ({"min_context": "1.5"}, "min_context"),
        ({"min_context": "-4000"}, "min_context"),
        ({"max_cost": "cheap"}, "max_cost"),
        ({"max_cost": "-0.01"}, "max_cost"),
        ({"headroom": "maybe"}, "headroom"),
        ({"ttft_budget_ms": "200", "headroom": "2"}, "headroom"),
        ({}, "scenario"),
        (dict.fromkeys(CUSTOM_PARAMS, ""), "scenario"),
        ({"headroom": "off"}, "scenario"),
    ],
)
def test_parse_custom_errors_name_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(AdvisorParamError) as caught:
        parse_custom(params)
    assert caught.value.field == field
    assert caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_a_negative_number_is_called_negative() -> None:
    with pytest.raises(AdvisorParamError, match="negative"):
        parse_custom({"max_cost": "-1"})
    with pytest.raises(AdvisorParamError, match="negative"):
        parse_custom({"min_context": "-1"})
