"""What a use case needs: the seed's scenario matrix as presets, and the custom scenario.

The presets come from the seed's scenario matrix (seed 000, 3.1). The seed contradicts
itself — light moderation asks for under 0.01 yuan per call and recommends o4-mini, which
3.2 prices at 0.03 — so the advisor never trusts the recommendation: it checks each need
against the measured figures and says which check a tier fails. Needs that cannot be
measured (memory, offline use, multimodal input, accuracy) are reported as *stated*, not
checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """What a use case needs; ``None`` / ``False`` = no constraint of that kind.

    ``needs_headroom`` asks for the codebase's capacity headroom (``definitions.HEADROOM``).
    """

    key: str
    title: str
    seed_pick: str | None = None
    ttft_budget_ms: float | None = None
    latency_budget_ms: float | None = None  # checked against the measured latency p99
    min_context_tokens: int | None = None
    max_cost_per_call: float | None = None
    needs_headroom: bool = False
    stated_needs: tuple[str, ...] = ()

    @property
    def has_measurable_needs(self) -> bool:
        return (
            self.ttft_budget_ms is not None
            or self.latency_budget_ms is not None
            or self.min_context_tokens is not None
            or self.max_cost_per_call is not None
            or self.needs_headroom
        )


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
        # "高并发支持": high concurrency, read as the seed's headroom rule.
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


# --- custom scenario -------------------------------------------------------------------

# The GET parameters of a custom scenario, in the order the form shows them.
CUSTOM_PARAMS = ("ttft_budget_ms", "latency_p99_budget_ms", "min_context", "max_cost", "headroom")

_TRUE = frozenset({"1", "on", "true", "yes"})
_FALSE = frozenset({"0", "off", "false", "no"})


def parse_custom(params: Mapping[str, str]) -> Scenario:
    """A custom scenario from GET parameters; a blank or missing parameter means no constraint.

    ``ttft_budget_ms`` (TTFT p95, ms), ``latency_p99_budget_ms`` (latency p99, ms),
    ``min_context`` (tokens, whole number), ``max_cost`` (per call, in the project's currency),
    ``headroom`` (``1`` / ``on`` to require the capacity headroom). Other parameters are
    ignored: the page carries its own (range, filters…).
    """
    scenario = Scenario(
        key="custom",
        title="Custom scenario",
        ttft_budget_ms=_non_negative_number(params, "ttft_budget_ms"),
        latency_budget_ms=_non_negative_number(params, "latency_p99_budget_ms"),
        min_context_tokens=_non_negative_int(params, "min_context"),
        max_cost_per_call=_non_negative_number(params, "max_cost"),
        needs_headroom=_flag(params, "headroom"),
    )
    if not scenario.has_measurable_needs:
        raise AdvisorParamError(
            "scenario",
            "give at least one need: a TTFT budget, a latency budget, a minimum context, a cost ceiling or headroom",
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
