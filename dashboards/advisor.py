"""The tier advisor: which tiers qualify for a scenario on measured data, and what a move saves.

Pure Python, no database: the tier comparison view gathers one ``TierFacts`` per tier
(catalogue figures plus what the rollups measured over the chosen range) and asks
``evaluate`` for a verdict per tier and ``saving`` for the daily effect of moving traffic.

The presets come from the seed's scenario matrix (seed 000, 3.1). The seed contradicts
itself — light moderation asks for under 0.01 yuan per call and recommends o4-mini, which
3.2 prices at 0.03 — so the advisor never trusts the recommendation: it checks each need
against the measured figures and says which check a tier fails. Needs that cannot be
measured (memory, offline use, multimodal input, accuracy) are reported as *stated*, not
checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

Money = Decimal | float
Outcome = Literal["pass", "fail", "unknown", "stated"]

# Seed 000, section 5: keep 20 % of the compute in reserve, so peak QPS may use at most
# 80 % of the rated QPS (the same rule as the capacity-headroom SLO).
HEADROOM = Decimal("0.2")
USABLE_SHARE = 1 - HEADROOM

# Measurements are compared as shown (TTFT to 0.1 ms, money to micro-units), so binary
# noise such as 0.010000000000000002 never fails a 0.01 ceiling while the page says 0.01.
MS_PLACES = 1
MONEY_PLACES = 6

NOT_MEASURABLE = "not measurable: shown as a stated need"
NO_CALLS = "no calls in this range"


@dataclass(frozen=True)
class TierFacts:
    """One tier's catalogue figures and measurements over a range; ``None`` = not known / no data."""

    name: str
    rated_qps: float | None = None
    context_tokens: int | None = None
    ttft_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    peak_qps: float | None = None
    error_rate: float | None = None
    cost_per_call: Money | None = None
    projected_daily_calls: float | None = None
    projected_daily_cost: Money | None = None

    @property
    def has_calls(self) -> bool:
        """Whether any call was measured in the range (catalogue figures do not count)."""
        measured = (
            self.ttft_p95_ms,
            self.latency_p99_ms,
            self.peak_qps,
            self.error_rate,
            self.cost_per_call,
            self.projected_daily_calls,
        )
        return any(value is not None for value in measured)


@dataclass(frozen=True)
class Scenario:
    """What a use case needs; ``None`` / ``False`` = no constraint of that kind."""

    key: str
    title: str
    seed_pick: str | None = None
    ttft_budget_ms: float | None = None
    min_context_tokens: int | None = None
    max_cost_per_call: float | None = None
    needs_headroom: bool = False
    stated_needs: tuple[str, ...] = ()

    @property
    def has_measurable_needs(self) -> bool:
        return (
            self.ttft_budget_ms is not None
            or self.min_context_tokens is not None
            or self.max_cost_per_call is not None
            or self.needs_headroom
        )


@dataclass(frozen=True)
class Check:
    need: str
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class Verdict:
    tier: str
    qualifies: bool
    checks: tuple[Check, ...]
    reason: str


@dataclass(frozen=True)
class Saving:
    """Moving ``share`` of ``from_tier``'s daily calls to ``to_tier`` at its measured cost per call.

    ``saving_per_day`` is negative when the target tier costs more per call.
    ``saving_fraction`` is the saving over what the moved calls cost before the move.
    """

    from_tier: str
    to_tier: str
    share: float
    calls_moved_per_day: float
    cost_before_per_day: Money
    cost_after_per_day: Money
    saving_per_day: Money
    saving_fraction: float | None


class AdvisorParamError(ValueError):
    """A custom-scenario parameter is invalid; ``field`` names the GET parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


PRESETS: tuple[Scenario, ...] = (
    Scenario(
        key="customer-service",
        title="Real-time customer service",
        seed_pick="4o",
        # "响应延迟<500ms": the first response is what the customer waits for.
        ttft_budget_ms=500,
        # "高并发支持": high concurrency, read as the seed's 20 % headroom rule.
        needs_headroom=True,
    ),
    Scenario(
        key="mobile-assistant",
        title="Mobile AI assistant",
        seed_pick="o4-mini",
        # The matrix row gives no latency figure. The seed recommends o4-mini, whose profile
        # (table 1.2) promises a first response in 120–200 ms, so the top of that range is the
        # budget: a tier only qualifies if it is as quick as the one the seed picked.
        ttft_budget_ms=200,
        stated_needs=("memory < 200 MB", "offline use"),
    ),
    Scenario(
        key="research-analysis",
        title="Research data analysis",
        seed_pick="o3",
        # "支持32k以上上下文": at least 32k tokens (the catalogue stores 32k as 32,000).
        min_context_tokens=32_000,
        stated_needs=("multimodal reasoning",),
    ),
    Scenario(
        key="light-moderation",
        title="Light content moderation",
        seed_pick="o4-mini",
        # "单次推理成本<0.01元": a ceiling of 0.01 yuan per call. The seed prices o4-mini at
        # 0.03 in 3.2, so on the seed's own prices no tier qualifies.
        max_cost_per_call=0.01,
        stated_needs=("accuracy > 90 %",),
    ),
)


def preset(key: str) -> Scenario | None:
    return next((scenario for scenario in PRESETS if scenario.key == key), None)


# --- evaluation ------------------------------------------------------------------------


class _Finding(NamedTuple):
    check: Check
    phrase: str  # the short form used in the verdict's sentence


def evaluate(scenario: Scenario, tiers: Sequence[TierFacts]) -> list[Verdict]:
    """A verdict per tier, in the order given."""
    return [_verdict(scenario, facts) for facts in tiers]


def _verdict(scenario: Scenario, facts: TierFacts) -> Verdict:
    findings = _measurable_findings(scenario, facts)
    stated = [Check(need, "stated", NOT_MEASURABLE) for need in scenario.stated_needs]
    checks = tuple([finding.check for finding in findings] + stated)
    failed = [f.phrase for f in findings if f.check.outcome == "fail"]
    unknown = [f.phrase for f in findings if f.check.outcome == "unknown"]
    qualifies = not failed and not unknown
    return Verdict(
        tier=facts.name,
        qualifies=qualifies,
        checks=checks,
        reason=_reason(scenario, facts.name, findings, failed, unknown),
    )


def _reason(scenario: Scenario, tier: str, findings: list[_Finding], failed: list[str], unknown: list[str]) -> str:
    not_checked = f"; not checked: {', '.join(scenario.stated_needs)}" if scenario.stated_needs else ""
    if failed:
        also = f"; and cannot tell: {'; '.join(unknown)}" if unknown else ""
        return f"{tier} does not qualify for {scenario.title}: {'; '.join(failed)}{also}."
    if unknown:
        return f"{tier} cannot be shown to qualify for {scenario.title}: {'; '.join(unknown)}."
    if not findings:
        return f"{tier} qualifies for {scenario.title}: it has no measurable needs{not_checked}."
    passed = "; ".join(f.phrase for f in findings)
    return f"{tier} qualifies for {scenario.title} on measured data: {passed}{not_checked}."


def _measurable_findings(scenario: Scenario, facts: TierFacts) -> list[_Finding]:
    findings: list[_Finding] = []
    if scenario.ttft_budget_ms is not None:
        findings.append(_ttft(scenario.ttft_budget_ms, facts))
    if scenario.min_context_tokens is not None:
        findings.append(_context(scenario.min_context_tokens, facts))
    if scenario.max_cost_per_call is not None:
        findings.append(_cost(scenario.max_cost_per_call, facts))
    if scenario.needs_headroom:
        findings.append(_headroom(facts))
    return findings


def _ttft(budget: float, facts: TierFacts) -> _Finding:
    need = f"TTFT p95 ≤ {_ms(budget)}"
    measured = facts.ttft_p95_ms
    if measured is None:
        why = "no call reported a TTFT" if facts.has_calls else NO_CALLS
        return _Finding(Check(need, "unknown", why), f"TTFT p95 unknown ({why})")
    if _rounded(measured, MS_PLACES) <= _dec(budget):
        return _Finding(Check(need, "pass", f"measured {_ms(measured)}"), f"TTFT p95 {_ms(measured)} ≤ {_ms(budget)}")
    return _Finding(
        Check(need, "fail", f"measured {_ms(measured)}, over the {_ms(budget)} budget"),
        f"TTFT p95 {_ms(measured)} > {_ms(budget)}",
    )


def _context(minimum: int, facts: TierFacts) -> _Finding:
    need = f"context ≥ {_tokens(minimum)}"
    context = facts.context_tokens
    if context is None:
        why = "context window not in the tier catalogue"
        return _Finding(Check(need, "unknown", why), f"context unknown ({why})")
    if context >= minimum:
        return _Finding(Check(need, "pass", f"catalogue: {_tokens(context)}"), f"context {_tokens(context)}")
    return _Finding(
        Check(need, "fail", f"catalogue: {_tokens(context)}, below {_tokens(minimum)}"),
        f"context {_tokens(context)} < {_tokens(minimum)}",
    )


def _cost(ceiling: float, facts: TierFacts) -> _Finding:
    need = f"cost per call ≤ {_money(ceiling)}"
    measured = facts.cost_per_call
    if measured is None:
        why = "no call in this range has a cost" if facts.has_calls else NO_CALLS
        return _Finding(Check(need, "unknown", why), f"cost per call unknown ({why})")
    if _rounded(measured, MONEY_PLACES) <= _dec(ceiling):
        return _Finding(
            Check(need, "pass", f"measured {_money(measured)}"),
            f"cost per call {_money(measured)} ≤ {_money(ceiling)}",
        )
    return _Finding(
        Check(need, "fail", f"measured {_money(measured)} > {_money(ceiling)}"),
        f"cost per call {_money(measured)} > {_money(ceiling)}",
    )


def _headroom(facts: TierFacts) -> _Finding:
    usable_pct = _number(USABLE_SHARE * 100, 0)
    need = f"peak QPS ≤ {usable_pct} % of rated QPS"
    rated, peak = facts.rated_qps, facts.peak_qps
    if rated is None:
        why = "rated QPS not in the tier catalogue"
        return _Finding(Check(need, "unknown", why), f"headroom unknown ({why})")
    if peak is None:
        why = "no peak QPS measured" if facts.has_calls else NO_CALLS
        return _Finding(Check(need, "unknown", why), f"headroom unknown ({why})")
    limit = _dec(rated) * USABLE_SHARE
    used = f"{_qps(peak)} of rated {_qps(rated)}"
    if rated > 0:
        used += f" ({_number(_dec(peak) / _dec(rated) * 100, 0)} %)"
    if _dec(peak) <= limit:
        return _Finding(
            Check(need, "pass", f"peak {used}"),
            f"peak {_qps(peak)} ≤ {usable_pct} % of rated {_qps(rated)}",
        )
    return _Finding(
        Check(need, "fail", f"peak {used}, over the {_qps(limit)} limit"),
        f"peak {_qps(peak)} > {usable_pct} % of rated {_qps(rated)} ({_qps(limit)})",
    )


# --- custom scenario -------------------------------------------------------------------

_TRUE = frozenset({"1", "on", "true", "yes"})
_FALSE = frozenset({"0", "off", "false", "no"})


def parse_custom(params: Mapping[str, str]) -> Scenario:
    """A custom scenario from GET parameters; a blank or missing parameter means no constraint.

    ``ttft_budget_ms`` (ms), ``min_context`` (tokens, whole number), ``max_cost`` (per call, in
    the project's currency), ``headroom`` (``1`` / ``on`` to require 20 % headroom). Other
    parameters are ignored: the page carries its own (range, filters…).
    """
    ttft = _non_negative_number(params, "ttft_budget_ms")
    context = _non_negative_int(params, "min_context")
    cost = _non_negative_number(params, "max_cost")
    headroom = _flag(params, "headroom")
    scenario = Scenario(
        key="custom",
        title="Custom scenario",
        ttft_budget_ms=ttft,
        min_context_tokens=context,
        max_cost_per_call=cost,
        needs_headroom=headroom,
    )
    if not scenario.has_measurable_needs:
        raise AdvisorParamError(
            "scenario", "give at least one need: a TTFT budget, a minimum context, a cost ceiling or headroom"
        )
    return scenario


def _raw(params: Mapping[str, str], field: str) -> str:
    value = params.get(field)
    return "" if value is None else str(value).strip()


def _non_negative_number(params: Mapping[str, str], field: str) -> float | None:
    raw = _raw(params, field)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise AdvisorParamError(field, f"must be a number, not {raw!r}")
    if not math.isfinite(value):
        raise AdvisorParamError(field, "must be a finite number")
    if value < 0:
        raise AdvisorParamError(field, "must not be negative")
    return value


def _non_negative_int(params: Mapping[str, str], field: str) -> int | None:
    raw = _raw(params, field)
    if not raw:
        return None
    digits = raw.replace("_", "").replace(",", "")
    if digits.startswith("-") and digits[1:].isdigit():
        raise AdvisorParamError(field, "must not be negative")
    if not (digits.isascii() and digits.isdigit()):
        raise AdvisorParamError(field, f"must be a whole number of tokens, not {raw!r}")
    return int(digits)


def _flag(params: Mapping[str, str], field: str) -> bool:
    raw = _raw(params, field).lower()
    if not raw or raw in _FALSE:
        return False
    if raw in _TRUE:
        return True
    raise AdvisorParamError(field, f"must be 1 or on to require headroom, not {raw!r}")


# --- saving ----------------------------------------------------------------------------


def saving(source: TierFacts, target: TierFacts, share: float = 1.0) -> Saving | None:
    """What moving ``share`` of ``source``'s daily calls to ``target`` would save per day.

    Both sides are priced at their measured cost per call. ``None`` when either cost per
    call or the source's projected daily calls is unknown (or not a finite number). Money stays ``Decimal`` when
    either cost is a ``Decimal``.
    """
    if not 0 < share <= 1:  # also refuses NaN
        raise ValueError(f"share must be in (0, 1], not {share!r}")
    calls, before_price, after_price = source.projected_daily_calls, source.cost_per_call, target.cost_per_call
    if calls is None or before_price is None or after_price is None:
        return None
    if not all(_dec(value).is_finite() for value in (calls, before_price, after_price)):
        return None
    moved = calls * share
    before: Money
    after: Money
    saved: Money
    fraction: float | None
    if isinstance(before_price, float) and isinstance(after_price, float):
        before_float, after_float = moved * before_price, moved * after_price
        before, after, saved = before_float, after_float, before_float - after_float
        fraction = (before_float - after_float) / before_float if before_float else None
    else:
        before_dec = _dec(moved) * _dec(before_price)
        after_dec = _dec(moved) * _dec(after_price)
        before, after, saved = before_dec, after_dec, before_dec - after_dec
        fraction = float((before_dec - after_dec) / before_dec) if before_dec else None
    return Saving(
        from_tier=source.name,
        to_tier=target.name,
        share=share,
        calls_moved_per_day=moved,
        cost_before_per_day=before,
        cost_after_per_day=after,
        saving_per_day=saved,
        saving_fraction=fraction,
    )


# --- formatting helpers ----------------------------------------------------------------


def _dec(value: Money | int) -> Decimal:
    """An exact decimal; floats go through their shortest repr so 0.03 stays 0.03."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if value.is_integer():  # 50000.0 → 50000, so money keeps the price's scale (7500.00)
        return Decimal(int(value))
    return Decimal(repr(value))


def _rounded(value: Money | int, places: int) -> Decimal:
    return _dec(value).quantize(Decimal(1).scaleb(-places))


def _number(value: Money | int, places: int) -> str:
    """``value`` rounded to ``places`` decimals, without trailing zeros, with thousands separators."""
    text = f"{_rounded(value, places):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _ms(value: float) -> str:
    return f"{_number(value, MS_PLACES)} ms"


def _qps(value: Money) -> str:
    return f"{_number(value, 1)} QPS"


def _tokens(value: int) -> str:
    return f"{value:,} tokens"


def _money(value: Money) -> str:
    return _number(value, MONEY_PLACES)
