"""A verdict per tier for a scenario: each measurable need checked against measured figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from monitor.metrics import definitions
from monitor.metrics.definitions import capacity_used, headroom_limit

from .scenarios import Scenario

Outcome = Literal["pass", "fail", "unknown", "stated"]

# Measurements are compared as shown (TTFT and latency to 0.1 ms, money to micro-units), so
# binary noise such as 0.010000000000000002 never fails a 0.01 ceiling while the page says
# 0.01. Peak QPS is compared with the headroom limit to a millionth of a QPS, so noise in
# rated × (1 − HEADROOM) never decides either.
MS_PLACES = 1
MONEY_PLACES = 6
QPS_COMPARE_PLACES = 6

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
    cost_per_call: float | None = None
    projected_daily_calls: float | None = None

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
        findings.append(
            _within_ms("TTFT p95", scenario.ttft_budget_ms, facts.ttft_p95_ms, facts, "no call reported a TTFT")
        )
    if scenario.latency_budget_ms is not None:
        findings.append(
            _within_ms("latency p99", scenario.latency_budget_ms, facts.latency_p99_ms, facts, "no latency measured")
        )
    if scenario.min_context_tokens is not None:
        findings.append(_context(scenario.min_context_tokens, facts))
    if scenario.max_cost_per_call is not None:
        findings.append(_cost(scenario.max_cost_per_call, facts))
    if scenario.needs_headroom:
        findings.append(_headroom(facts))
    return findings


def _within_ms(label: str, budget: float, measured: float | None, facts: TierFacts, missing: str) -> _Finding:
    """A measured duration (``label``, e.g. "TTFT p95") against a budget in ms."""
    need = f"{label} ≤ {_ms(budget)}"
    if measured is None:
        why = missing if facts.has_calls else NO_CALLS
        return _Finding(Check(need, "unknown", why), f"{label} unknown ({why})")
    if _rounded(measured, MS_PLACES) <= _dec(budget):
        return _Finding(Check(need, "pass", f"measured {_ms(measured)}"), f"{label} {_ms(measured)} ≤ {_ms(budget)}")
    return _Finding(
        Check(need, "fail", f"measured {_ms(measured)}, over the {_ms(budget)} budget"),
        f"{label} {_ms(measured)} > {_ms(budget)}",
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
    usable = percent(1 - definitions.HEADROOM)  # read when called: the rule lives in definitions
    need = f"peak QPS ≤ {usable} % of rated QPS"
    rated, peak = facts.rated_qps, facts.peak_qps
    limit = headroom_limit(rated)
    if rated is None or limit is None:
        why = "rated QPS not in the tier catalogue"
        return _Finding(Check(need, "unknown", why), f"headroom unknown ({why})")
    if peak is None:
        why = "no peak QPS measured" if facts.has_calls else NO_CALLS
        return _Finding(Check(need, "unknown", why), f"headroom unknown ({why})")
    used = f"{_qps(peak)} of rated {_qps(rated)}"
    share = capacity_used(peak, rated)
    if share is not None:
        used += f" ({percent(share, 0)} %)"
    if _rounded(peak, QPS_COMPARE_PLACES) <= _rounded(limit, QPS_COMPARE_PLACES):
        return _Finding(
            Check(need, "pass", f"peak {used}"),
            f"peak {_qps(peak)} ≤ {usable} % of rated {_qps(rated)}",
        )
    return _Finding(
        Check(need, "fail", f"peak {used}, over the {_qps(limit)} limit"),
        f"peak {_qps(peak)} > {usable} % of rated {_qps(rated)} ({_qps(limit)})",
    )


# --- formatting helpers ----------------------------------------------------------------


def percent(fraction: float, places: int = 1) -> str:
    """A fraction as a number of percent for labels: 0.2 → "20", 0.875 → "87.5"."""
    return _number(fraction * 100, places)


def _dec(value: float) -> Decimal:
    """An exact decimal; floats go through their shortest repr so 0.03 stays 0.03."""
    if isinstance(value, int) or value.is_integer():
        return Decimal(int(value))
    return Decimal(repr(value))


def _rounded(value: float, places: int) -> Decimal:
    return _dec(value).quantize(Decimal(1).scaleb(-places))


def _number(value: float, places: int) -> str:
    """``value`` rounded to ``places`` decimals, without trailing zeros, with thousands separators."""
    text = f"{_rounded(value, places):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _ms(value: float) -> str:
    return f"{_number(value, MS_PLACES)} ms"


def _qps(value: float) -> str:
    return f"{_number(value, 1)} QPS"


def _tokens(value: int) -> str:
    return f"{value:,} tokens"


def _money(value: float) -> str:
    return _number(value, MONEY_PLACES)
