"""The tier advisor: seed scenarios judged on measured data, custom scenarios, and savings."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboards.advisor import (
    CUSTOM_PARAMS,
    PRESETS,
    AdvisorParamError,
    Scenario,
    TierFacts,
    Verdict,
    evaluate,
    parse_custom,
    saving,
)
from dashboards.pages.tiers import ADVISOR_PARAMS
from monitor.metrics.definitions import HEADROOM
from tests.conftest import post_records, record, roll_up_everything

# Shaped like the seed's tier table (seed 000, 1.2 and 3.2): TTFT p95 at the top of each
# profile's range but inside it, peaks under 80 % of the rated QPS, the seed's prices.
O3 = TierFacts(
    name="o3",
    rated_qps=15,
    context_tokens=32_000,
    ttft_p95_ms=1100,
    latency_p99_ms=4200,
    peak_qps=10,
    error_rate=0.01,
    cost_per_call=0.15,
    projected_daily_calls=100_000,
)
FOUR_O = TierFacts(
    name="4o",
    rated_qps=40,
    context_tokens=16_000,
    ttft_p95_ms=450,
    latency_p99_ms=1800,
    peak_qps=30,
    error_rate=0.005,
    cost_per_call=0.08,
    projected_daily_calls=100_000,
)
O4_MINI = TierFacts(
    name="o4-mini",
    rated_qps=120,
    context_tokens=4_000,
    ttft_p95_ms=180,
    latency_p99_ms=700,
    peak_qps=90,
    error_rate=0.002,
    cost_per_call=0.03,
    projected_daily_calls=100_000,
)
SEED_TIERS = [O3, FOUR_O, O4_MINI]


def scenario(key: str) -> Scenario:
    return next(each for each in PRESETS if each.key == key)


def by_tier(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {verdict.tier: verdict for verdict in verdicts}


def outcomes(verdict: Verdict) -> dict[str, str]:
    return {check.need: check.outcome for check in verdict.checks}


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


# --- saving ------------------------------------------------------------------------------


def test_moving_the_seed_o3_traffic_to_o4_mini_saves_12000_a_day_80_percent() -> None:
    result = saving(O3, O4_MINI)

    assert result is not None
    assert (result.from_tier, result.to_tier, result.share) == ("o3", "o4-mini", 1.0)
    assert result.calls_moved_per_day == 100_000
    assert result.cost_before_per_day == pytest.approx(15_000)
    assert result.cost_after_per_day == pytest.approx(3_000)
    assert result.saving_per_day == pytest.approx(12_000)
    assert result.saving_fraction == pytest.approx(0.8)


def test_moving_half_the_traffic_saves_half() -> None:
    result = saving(O3, O4_MINI, share=0.5)

    assert result is not None
    assert result.calls_moved_per_day == 50_000
    assert result.cost_before_per_day == pytest.approx(7_500)
    assert result.saving_per_day == pytest.approx(6_000)
    assert result.saving_fraction == pytest.approx(0.8)


def test_moving_to_a_costlier_tier_is_a_negative_saving_an_extra_cost() -> None:
    result = saving(O4_MINI, O3)
    assert result is not None
    assert result.saving_per_day == pytest.approx(-12_000)
    assert result.saving_fraction == pytest.approx(-4)
    assert result.extra_cost_per_day == pytest.approx(12_000)
    assert result.extra_cost_fraction == pytest.approx(4)


def test_saving_is_none_without_costs_or_daily_calls() -> None:
    assert saving(TierFacts(name="idle"), O4_MINI) is None
    assert saving(O3, TierFacts(name="idle")) is None
    assert saving(TierFacts(name="o3", cost_per_call=0.15), O4_MINI) is None


def test_saving_fraction_is_none_when_the_moved_calls_cost_nothing() -> None:
    free = TierFacts(name="free", cost_per_call=0.0, projected_daily_calls=1000)
    result = saving(free, O4_MINI)
    assert result is not None
    assert result.saving_fraction is None
    assert result.extra_cost_fraction is None
    assert result.saving_per_day == pytest.approx(-30)


@pytest.mark.parametrize("share", [0, -0.5, 1.5, float("nan")])
def test_saving_refuses_a_share_outside_0_to_1(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        saving(O3, O4_MINI, share=share)


def test_float_noise_does_not_fail_a_ceiling_the_page_shows_as_met() -> None:
    noisy = TierFacts(name="t", cost_per_call=0.1 * 0.1, ttft_p95_ms=200.00000001, latency_p99_ms=400)
    assert noisy.cost_per_call != 0.01  # 0.010000000000000002
    assert evaluate(scenario("light-moderation"), [noisy])[0].qualifies
    assert evaluate(scenario("mobile-assistant"), [noisy])[0].qualifies


@pytest.mark.parametrize("cost", [float("inf"), float("nan")])
def test_saving_is_none_for_a_cost_that_is_not_a_number(cost: float) -> None:
    broken = TierFacts(name="x", cost_per_call=cost, projected_daily_calls=10)
    assert saving(broken, O4_MINI) is None


# --- the tiers page ------------------------------------------------------------------------


@pytest.fixture
def seed_traffic(client: Client, project: object, ingest_key: str) -> None:
    """A few minutes of calls on the three seed tiers (priced by the seed), rolled up."""
    now = time.time()
    latency = {"o3": 2000.0, "4o": 800.0, "o4-mini": 300.0}
    records = []
    for n in range(120):
        tier = ("o3", "4o", "o4-mini")[n % 3]
        records.append(
            record(ts=now - 200 + n, tier=tier, model=f"{tier}-v1", latency_ms=latency[tier] + n,
                   ttft_ms=latency[tier] / 2)
        )  # fmt: skip
    assert post_records(client, ingest_key, records).status_code == 202
    roll_up_everything()


def _get(user: User, query: str) -> tuple[Any, str]:
    client = Client()
    client.force_login(user)
    response = client.get(f"/p/acme/tiers/?{query}")
    assert response.status_code == 200
    return response, response.content.decode()


class _FormFields(HTMLParser):
    """The (name, value) of every field of the form with ``id``, hidden or not."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str | None, str | None]] = []  # (name, type, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        elif self.inside and tag in ("input", "select") and found.get("name"):
            self.fields.append((str(found["name"]), found.get("type"), found.get("value")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def _saving_text(body: str) -> str:
    """The text of the saving paragraph, whitespace collapsed."""
    paragraph = re.search(r'<p class="saving[^"]*"[^>]*>(.*?)</p>', body, re.S)
    assert paragraph, "no saving paragraph"
    return " ".join(re.sub(r"<[^>]+>", "", paragraph.group(1)).split())


def _controls(body: str) -> list[tuple[str, str | None, str | None]]:
    parser = _FormFields("controls")
    parser.feed(body)
    return parser.fields


def test_a_latency_budget_on_the_page_fails_the_slow_tiers(owner: User, seed_traffic: None) -> None:
    response, body = _get(owner, "scenario=custom&latency_p99_budget_ms=1000")
    verdicts = {v.tier: v for v in response.context["verdicts"]}

    assert response.context["scenario"].latency_budget_ms == 1000
    assert {t: v.qualifies for t, v in verdicts.items()} == {"o3": False, "4o": True, "o4-mini": True}
    assert "latency p99" in verdicts["o3"].reason
    assert 'name="latency_p99_budget_ms" inputmode="decimal" value="1000"' in body


def test_moving_traffic_to_a_pricier_tier_is_shown_as_an_extra_cost(owner: User, seed_traffic: None) -> None:
    response, body = _get(owner, "move_from=o4-mini&move_to=o3")
    assert response.context["saving"].saving_per_day < 0

    text = _saving_text(body)
    extra = r"to o3 costs [\d,.]+ CNY a day more \(\+400 %\): [\d,.]+ instead of [\d,.]+ CNY a day\."
    assert re.search(extra, text), text
    assert "save" not in text
    assert " -" not in text and "−" not in text  # no negative amounts


def test_moving_traffic_to_a_cheaper_tier_is_shown_as_a_saving(owner: User, seed_traffic: None) -> None:
    _, body = _get(owner, "move_from=o3&move_to=o4-mini")
    text = _saving_text(body)
    assert re.search(r"to o4-mini saves [\d,.]+ CNY a day \(80 %\): [\d,.]+ instead of", text), text
    assert "more" not in text


def test_the_headroom_labels_come_from_the_metric_definitions(owner: User, seed_traffic: None) -> None:
    _, body = _get(owner, "")
    headroom, usable = round(HEADROOM * 100), round((1 - HEADROOM) * 100)
    assert f"keep {headroom} % headroom (peak ≤ {usable} % of rated QPS)" in body
    assert f"peak QPS ≤ {usable} % of rated QPS" in body


def test_the_controls_form_carries_the_advisor_choices(owner: User, seed_traffic: None) -> None:
    chosen = {
        "scenario": "custom",
        "ttft_budget_ms": "400",
        "latency_p99_budget_ms": "1500",
        "min_context": "4000",
        "max_cost": "0.05",
        "headroom": "1",
        "move_from": "o4-mini",
        "move_to": "4o",
        "share": "50",
    }
    assert set(chosen) == set(ADVISOR_PARAMS)
    query = "&".join(f"{k}={v}" for k, v in chosen.items())
    _, body = _get(owner, f"range=6h&tier=o4-mini&tier=4o&{query}")
    fields = _controls(body)
    names = [name for name, _, _ in fields]

    assert {name: value for name, kind, value in fields if kind == "hidden"} == chosen
    # Each advisor parameter once; the controls' own fields are not repeated as hidden inputs.
    for name in (*ADVISOR_PARAMS, "range", "from", "to", "refresh"):
        assert names.count(name) == 1, name
    assert ("tier", "checkbox", "4o") in fields and ("tier", "hidden", "4o") not in fields


def test_the_controls_form_carries_only_the_advisor_params_given(owner: User, seed_traffic: None) -> None:
    _, body = _get(owner, "scenario=mobile-assistant&ttft_budget_ms=&share=")
    hidden = {name: value for name, kind, value in _controls(body) if kind == "hidden"}
    assert hidden == {"scenario": "mobile-assistant"}
