"""Tier / model detail: each model version's figures, with its lifecycle flagged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.catalogue.models import ModelVersion
from monitor.metrics.engine import report, timeseries

from ..charts import error_rate_chart, percentile_chart, qps_chart
from ..common import ProjectPage, rated_qps
from ..report_fields import cells, columns
from ..tables import Column, Table

MODEL_FIELDS = ("requests", "error_rate", "latency_p50", "latency_p95", "latency_p99", "ttft_p95", "peak_qps",
                "tokens_out_per_s", "cost_per_call")  # fmt: skip
MODEL_COLUMNS = [Column("Tier"), Column("Model"), Column("Lifecycle"), Column("Sunset"), *columns(MODEL_FIELDS)]


def models_for_tiers(
    filters: Mapping[str, tuple[str, ...]], versions: Mapping[str, ModelVersion]
) -> dict[str, tuple[str, ...]]:
    if "tier" not in filters:
        return dict(filters)
    narrowed = {name: values for name, values in filters.items() if name != "tier"}
    in_tiers = tuple(name for name, version in versions.items() if version.tier.name in filters["tier"])
    narrowed["model"] = tuple(m for m in filters.get("model", in_tiers) if m in in_tiers)
    return narrowed


def detail(page: ProjectPage) -> dict[str, Any]:
    pid = page.project.pk
    versions = {m.name: m for m in ModelVersion.objects.filter(project=page.project).select_related("tier")}
    # By model alone, a tier filter turned into the tier's models (a version belongs to
    # one tier): one dimension, so peak QPS and stability come from the per-model
    # rollups rather than per-second rows. Filters on service or deployment still
    # need the per-second rows.
    filters = models_for_tiers(page.state.filters, versions)
    rows = report(page.state.query(pid, group_by=("model",), filters=filters))
    for row in rows:
        version = versions.get(row["labels"]["model"])
        row["labels"] = {"tier": version.tier.name if version else "", **row["labels"]}
    rows.sort(key=lambda row: (row["labels"]["tier"], row["labels"]["model"]))
    table = Table("models", "Model versions over the range", list(MODEL_COLUMNS))
    flagged = []
    for row in rows:
        labels = row["labels"]
        version = versions.get(labels["model"])
        lifecycle = version.lifecycle if version else ModelVersion.Lifecycle.ACTIVE
        sunset = version.sunset_date.isoformat() if version and version.sunset_date else None
        if lifecycle != ModelVersion.Lifecycle.ACTIVE:
            flagged.append(
                {"model": labels["model"], "tier": labels["tier"], "lifecycle": lifecycle, "sunset": sunset,
                 "requests": row["requests"]}
            )  # fmt: skip
        table.rows.append([labels["tier"], labels["model"], lifecycle, sunset, *cells(row, MODEL_FIELDS)])
        table.marks.append(["", "", "" if lifecycle == "active" else f"lifecycle-{lifecycle}", *[""] * 10])
    charts = {}
    series = [] if page.exporting else timeseries(page.state.query(pid, group_by=("model",), filters=filters))
    if series:
        charts = {
            "latency": percentile_chart(series, "latency_ms", "Latency per model version (p95)", ("p95",)),
            "ttft": percentile_chart(series, "ttft_ms", "Time to first token per model version (p95)", ("p95",)),
            "qps": qps_chart(series, rated_qps(page.project)),
            "errors": error_rate_chart(series),
        }
    return {"tables": [table], "charts": charts, "flagged": flagged}
