"""The tier advisor's daily-saving figures, and how the tiers page shows the advisor and its controls."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboards.advisor import TierFacts, evaluate, saving
from dashboards.pages.tiers import ADVISOR_PARAMS
from monitor.metrics.definitions import HEADROOM
from tests.conftest import post_records, record, roll_up_everything
from tests.dashboards.advisor_helpers import O3, O4_MINI, scenario

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
