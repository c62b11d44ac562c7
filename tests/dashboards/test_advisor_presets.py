"""The tier advisor's preset scenarios judged on measured data: the picks, unknown data, headroom."""

from __future__ import annotations

import pytest

from dashboards.advisor import PRESETS, Scenario, TierFacts, evaluate
from tests.dashboards.advisor_helpers import FOUR_O, O3, O4_MINI, SEED_TIERS, by_tier, outcomes, scenario

# --- presets -----------------------------------------------------------------------------


def test_the_presets_are_the_seed_scenario_matrix_with_its_picks() -> None:
    assert [(s.key, s.seed_pick) for s in PRESETS] == [
        ("customer-service", "4o"),
        ("mobile-assistant", "o4-mini"),
        ("research-analysis", "o3"),
        ("light-moderation", "o4-mini"),
    ]
    assert scenario("customer-service").ttft_budget_ms == 500
    assert scenario("customer-service").needs_headroom
    assert scenario("mobile-assistant").ttft_budget_ms == 200
    assert scenario("research-analysis").min_context_tokens == 32_000
    assert scenario("light-moderation").max_cost_per_call == 0.01
    assert all(each.latency_budget_ms is None for each in PRESETS)  # the seed's matrix gives none


def test_verdicts_come_back_in_the_order_of_the_tiers() -> None:
    tiers = [O4_MINI, O3, FOUR_O]
    assert [v.tier for v in evaluate(scenario("customer-service"), tiers)] == ["o4-mini", "o3", "4o"]
    assert evaluate(scenario("customer-service"), []) == []


def test_it_picks_4o_for_customer_service_and_o4_mini_qualifies_too_on_measured_data() -> None:
    verdicts = by_tier(evaluate(scenario("customer-service"), SEED_TIERS))

    assert verdicts["4o"].qualifies
    assert outcomes(verdicts["4o"]) == {"TTFT p95 ≤ 500 ms": "pass", "peak QPS ≤ 80 % of rated QPS": "pass"}
    assert "qualifies" in verdicts["4o"].reason
    # The seed recommends 4o, but the measured o4-mini (180 ms, 90 of 120 QPS) meets every need.
    assert verdicts["o4-mini"].qualifies


def test_it_says_o3_fails_customer_service_on_ttft() -> None:
    verdict = by_tier(evaluate(scenario("customer-service"), SEED_TIERS))["o3"]

    assert not verdict.qualifies
    ttft = verdict.checks[0]
    assert (ttft.need, ttft.outcome) == ("TTFT p95 ≤ 500 ms", "fail")
    assert "1,100 ms" in ttft.detail
    assert "TTFT p95 1,100 ms > 500 ms" in verdict.reason
    assert "peak" not in verdict.reason  # its headroom passes, so only TTFT is named


def test_it_picks_o4_mini_for_the_mobile_assistant_and_reports_the_stated_needs() -> None:
    verdicts = by_tier(evaluate(scenario("mobile-assistant"), SEED_TIERS))

    assert [t for t, v in verdicts.items() if v.qualifies] == ["o4-mini"]
    assert "TTFT p95 450 ms > 200 ms" in verdicts["4o"].reason
    for verdict in verdicts.values():
        stated = [c for c in verdict.checks if c.outcome == "stated"]
        assert [c.need for c in stated] == ["memory < 200 MB", "offline use"]
        assert all(c.detail == "not measurable: shown as a stated need" for c in stated)
    assert "not checked: memory < 200 MB, offline use" in verdicts["o4-mini"].reason


def test_only_o3_has_the_context_for_research_analysis() -> None:
    verdicts = by_tier(evaluate(scenario("research-analysis"), SEED_TIERS))

    assert [t for t, v in verdicts.items() if v.qualifies] == ["o3"]
    assert "context 16,000 tokens < 32,000 tokens" in verdicts["4o"].reason
    assert "context 4,000 tokens < 32,000 tokens" in verdicts["o4-mini"].reason
    assert outcomes(verdicts["o3"])["multimodal reasoning"] == "stated"


def test_no_tier_qualifies_for_light_moderation_because_o4_mini_costs_0_03() -> None:
    verdicts = by_tier(evaluate(scenario("light-moderation"), SEED_TIERS))

    assert not any(v.qualifies for v in verdicts.values())
    mini = verdicts["o4-mini"]
    assert "cost per call 0.03 > 0.01" in mini.reason
    assert outcomes(mini) == {"cost per call ≤ 0.01": "fail", "accuracy > 90 %": "stated"}
    assert "0.15 > 0.01" in verdicts["o3"].reason


def test_a_tier_under_the_cost_ceiling_passes_light_moderation() -> None:
    cheap = TierFacts(name="nano", cost_per_call=0.008, latency_p99_ms=300)
    [verdict] = evaluate(scenario("light-moderation"), [cheap])
    assert verdict.qualifies
    assert verdict.checks[0].detail == "measured 0.008"


def test_stated_needs_alone_never_make_a_tier_qualify_or_fail() -> None:
    only_stated = Scenario(key="x", title="Only stated", stated_needs=("offline use",))
    [verdict] = evaluate(only_stated, [O3])
    assert verdict.qualifies
    assert [c.outcome for c in verdict.checks] == ["stated"]


# --- unknowns ----------------------------------------------------------------------------


def test_a_tier_with_no_data_is_unknown_and_does_not_qualify() -> None:
    idle = TierFacts(name="o5")
    for each in PRESETS:
        [verdict] = evaluate(each, [idle])
        assert not verdict.qualifies, each.key
        measurable = [c for c in verdict.checks if c.outcome != "stated"]
        assert measurable and all(c.outcome == "unknown" for c in measurable), each.key
        assert "cannot be shown to qualify" in verdict.reason

    [verdict] = evaluate(scenario("customer-service"), [idle])
    assert verdict.checks[0].detail == "no calls in this range"
    assert verdict.checks[1].detail == "rated QPS not in the tier catalogue"


def test_a_tier_with_calls_but_no_ttft_says_so() -> None:
    no_ttft = TierFacts(name="batch", rated_qps=10, latency_p99_ms=900, peak_qps=2)
    [verdict] = evaluate(scenario("customer-service"), [no_ttft])
    assert not verdict.qualifies
    assert outcomes(verdict) == {"TTFT p95 ≤ 500 ms": "unknown", "peak QPS ≤ 80 % of rated QPS": "pass"}
    assert verdict.checks[0].detail == "no call reported a TTFT"


def test_a_failure_and_an_unknown_are_both_named() -> None:
    slow = TierFacts(name="slow", ttft_p95_ms=900, peak_qps=5)
    [verdict] = evaluate(scenario("customer-service"), [slow])
    assert not verdict.qualifies
    assert "TTFT p95 900 ms > 500 ms" in verdict.reason
    assert "rated QPS not in the tier catalogue" in verdict.reason


# --- headroom ----------------------------------------------------------------------------


def test_headroom_fails_when_peak_goes_over_80_percent_of_rated() -> None:
    hot = TierFacts(name="4o", rated_qps=40, ttft_p95_ms=450, peak_qps=35)
    [verdict] = evaluate(scenario("customer-service"), [hot])

    assert not verdict.qualifies
    headroom = verdict.checks[1]
    assert headroom.outcome == "fail"
    assert headroom.detail == "peak 35 QPS of rated 40 QPS (88 %), over the 32 QPS limit"
    assert "peak 35 QPS > 80 % of rated 40 QPS (32 QPS)" in verdict.reason


@pytest.mark.parametrize(("rated", "peak"), [(40, 32), (15, 12), (120, 96)])
def test_headroom_passes_at_exactly_80_percent(rated: float, peak: float) -> None:
    facts = TierFacts(name="t", rated_qps=rated, ttft_p95_ms=100, peak_qps=peak)
    [verdict] = evaluate(scenario("customer-service"), [facts])
    assert verdict.qualifies, verdict.reason


def test_ttft_exactly_on_the_budget_passes() -> None:
    facts = TierFacts(name="t", rated_qps=40, ttft_p95_ms=500.0, peak_qps=1)
    [verdict] = evaluate(scenario("customer-service"), [facts])
    assert verdict.qualifies


def test_the_headroom_rule_is_the_one_in_the_metric_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("monitor.metrics.definitions.HEADROOM", 0.3)
    facts = TierFacts(name="4o", rated_qps=40, ttft_p95_ms=450, peak_qps=30)
    [verdict] = evaluate(scenario("customer-service"), [facts])

    assert not verdict.qualifies
    assert outcomes(verdict)["peak QPS ≤ 70 % of rated QPS"] == "fail"
    assert verdict.checks[1].detail == "peak 30 QPS of rated 40 QPS (75 %), over the 28 QPS limit"
