"""Tier comparison: the seed's tier table, measured, and the tier advisor."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from monitor.catalogue.models import Tier
from monitor.metrics.definitions import HEADROOM, capacity_used, projected_daily_calls
from monitor.metrics.engine import report

from ..advisor import (
    CUSTOM_PARAMS,
    PRESETS,
    AdvisorParamError,
    Scenario,
    TierFacts,
    evaluate,
    parse_custom,
    percent,
    saving,
)
from ..charts import capacity_chart
from ..common import ProjectPage
from ..tables import Column, Table

# The advisor's state in the URL: the controls form carries it, so a new range or filter keeps it.
ADVISOR_PARAMS = ("scenario", *CUSTOM_PARAMS, "move_from", "move_to", "share")
COMPARISON_COLUMNS = [
    Column("Tier"),
    Column("Context (catalogue)", "int"),
    Column("TTFT p50", "ms"),
    Column("TTFT p95", "ms"),
    Column("TTFT (catalogue)"),
    Column("Latency p99", "ms"),
    Column("Peak QPS", "qps"),
    Column("Rated QPS", "qps"),
    Column("Peak / rated", "ratio"),
    Column("Error rate", "ratio"),
    Column("Cost per call", "money"),
    Column("Projected daily cost", "money"),
    Column("Energy per call", "wh"),
]


def _facts(page: ProjectPage) -> tuple[list[TierFacts], Table]:
    window = page.state.window
    rows = {r["labels"]["tier"]: r for r in report(page.state.query(page.project.pk, group_by=("tier",)))}
    catalogue = {t.name: t for t in Tier.objects.filter(project=page.project)}
    table = Table("comparison", "Tiers, measured over the range", list(COMPARISON_COLUMNS))
    facts = []
    wanted = page.state.filters.get("tier")
    names = sorted(set(rows) | {n for n in catalogue if wanted is None or n in wanted})
    for name in names:
        row, tier = rows.get(name), catalogue.get(name)
        rated = tier.rated_qps if tier else None
        peak = row["peak_qps"] if row else None
        catalogue_ttft = (
            f"{tier.ttft_target_low_ms:,.0f}–{tier.ttft_target_high_ms:,.0f} ms"
            if tier and tier.ttft_target_low_ms is not None and tier.ttft_target_high_ms is not None
            else None
        )
        table.rows.append(
            [
                name,
                tier.context_tokens if tier else None,
                row["ttft_ms"]["p50"] if row else None,
                row["ttft_ms"]["p95"] if row else None,
                catalogue_ttft,
                row["latency_ms"]["p99"] if row else None,
                peak,
                rated,
                capacity_used(peak, rated),
                row["error_rate"] if row else None,
                row["cost_per_call"] if row else None,
                row["projected_daily_cost"] if row else None,
                row["energy_per_call_wh"] if row else None,
            ]
        )
        facts.append(
            TierFacts(
                name=name,
                rated_qps=rated,
                context_tokens=tier.context_tokens if tier else None,
                ttft_p95_ms=row["ttft_ms"]["p95"] if row else None,
                latency_p99_ms=row["latency_ms"]["p99"] if row else None,
                peak_qps=peak,
                error_rate=row["error_rate"] if row else None,
                cost_per_call=row["cost_per_call"] if row else None,
                projected_daily_calls=projected_daily_calls(row["requests"], window.seconds) if row else None,
            )
        )
    return facts, table


def _scenario(params: QueryDict) -> tuple[Scenario, str | None]:
    key = params.get("scenario") or PRESETS[0].key
    if key == "custom":
        try:
            return parse_custom({k: params.get(k, "") for k in CUSTOM_PARAMS}), None
        except AdvisorParamError as exc:
            return PRESETS[0], f"Custom scenario: {exc.field} {exc.message}. Showing “{PRESETS[0].title}” instead."
    preset = next((p for p in PRESETS if p.key == key), None)
    if preset is None:
        return PRESETS[0], f"scenario {key!r} is not a preset; showing “{PRESETS[0].title}”."
    return preset, None


def _share(raw: str | None) -> tuple[float, str | None]:
    if not raw:
        return 1.0, None
    try:
        percent = float(raw)
    except ValueError:
        return 1.0, "share must be a number of percent; using 100 %."
    if not 0 < percent <= 100:
        return 1.0, "share must be more than 0 and at most 100 percent; using 100 %."
    return percent / 100, None


def _pick(names: list[str], wanted: str | None, fallback: str, index: int) -> str | None:
    if wanted in names:
        return wanted
    if fallback in names:
        return fallback
    return names[index] if len(names) > index else None


def tiers(page: ProjectPage) -> dict[str, Any]:
    facts, table = _facts(page)
    params = page.request.GET
    scenario, scenario_problem = _scenario(params)
    share, share_problem = _share(params.get("share"))
    names = [f.name for f in facts]
    move_from = _pick(names, params.get("move_from"), "o3", 0)
    move_to = _pick(names, params.get("move_to"), "o4-mini", len(names) - 1)
    by_name = {f.name: f for f in facts}
    moved = saving(by_name[move_from], by_name[move_to], share) if move_from and move_to else None
    measured = [(f.name, f.peak_qps, f.rated_qps) for f in facts]
    return {
        "tables": [table],
        "charts": {"capacity": capacity_chart(measured)} if any(p is not None for _, p, _ in measured) else {},
        "presets": PRESETS,
        "scenario": scenario,
        "custom": {k: params.get(k, "") for k in CUSTOM_PARAMS},
        "verdicts": evaluate(scenario, facts),
        "tier_names": names,
        "move_from": move_from,
        "move_to": move_to,
        "share_percent": round(share * 100, 2),
        "saving": moved,
        "advisor_problems": [p for p in (scenario_problem, share_problem) if p],
        "advisor_params": [(k, v) for k in ADVISOR_PARAMS if (v := params.get(k, "").strip())],
        "headroom_percent": percent(HEADROOM),
        "usable_percent": percent(1 - HEADROOM),
        "currency": page.project.currency,
    }
