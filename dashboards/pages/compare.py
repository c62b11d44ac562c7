"""Version A/B, and before/after an annotation: two sides, each key metric's change, a verdict."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.annotations.queries import annotation_for
from monitor.catalogue.models import ModelVersion
from monitor.metrics.definitions import SIGNIFICANT_CHANGE, relative_change
from monitor.metrics.engine import report
from monitor.metrics.query import Window
from monitor.metrics.results import ReportRow

from ..charts import plotly_time_s
from ..common import ProjectPage
from ..report_fields import FIELDS, ReportField
from ..tables import BY_ROW, Column, Table

MIN_SIDE_S = 60


# Each key metric of the comparison, and which way is better: -1 lower, +1 higher,
# 0 neither (volume, which a change of traffic moves).
METRICS: tuple[tuple[ReportField, int], ...] = (
    (FIELDS["requests"], 0),
    (FIELDS["latency_p50"], -1),
    (FIELDS["latency_p95"], -1),
    (FIELDS["latency_p99"], -1),
    (FIELDS["ttft_p95"], -1),
    (FIELDS["error_rate"], -1),
    (FIELDS["stability"], +1),
    (FIELDS["tokens_out_per_s"], 0),
    (FIELDS["cost_per_call"], -1),
)


def compare_sides(a_label: str, a: ReportRow | None, b_label: str, b: ReportRow | None) -> dict[str, Any]:
    table = Table(
        "comparison",
        f"{a_label} → {b_label}",
        [Column("Metric"), Column(a_label, BY_ROW), Column(b_label, BY_ROW), Column("Change", "change")],
    )
    improved: list[str] = []
    regressed: list[str] = []
    for metric, better_way in METRICS:
        label = metric.column.label
        before, after = metric.of(a), metric.of(b)
        change = relative_change(before, after)
        mark = ""
        if change is not None and better_way and abs(change) > SIGNIFICANT_CHANGE:
            better = (change > 0) == (better_way > 0)
            (improved if better else regressed).append(f"{label} {change * 100:+.0f} %")
            mark = "improved" if better else "regressed"
        table.rows.append([label, before, after, change])
        table.row_kinds.append(metric.column.kind)
        table.marks.append(["", "", "", mark])
    return {"table": table, "verdict": verdict(b_label, improved, regressed, a is not None and b is not None)}


def verdict(b_label: str, improved: list[str], regressed: list[str], both: bool) -> dict[str, str]:
    if not both:
        return {"kind": "empty", "text": "One side has no calls in its window: nothing to compare."}
    threshold = f"{SIGNIFICANT_CHANGE * 100:.0f} %"
    if improved and not regressed:
        return {"kind": "improved", "text": f"{b_label} improves by more than {threshold}: {', '.join(improved)}."}
    if regressed and not improved:
        return {"kind": "regressed", "text": f"{b_label} regresses by more than {threshold}: {', '.join(regressed)}."}
    if improved and regressed:
        return {
            "kind": "mixed",
            "text": f"Mixed: better {', '.join(improved)}; worse {', '.join(regressed)} (beyond {threshold}).",
        }
    return {"kind": "same", "text": f"No key metric changed by more than {threshold}."}


def _one(rows: list[ReportRow], label: str | None = None) -> ReportRow | None:
    for row in rows:
        if label is None or row["labels"].get("model") == label:
            return row
    return None


def version_ab(page: ProjectPage) -> dict[str, Any]:
    models = list(
        ModelVersion.objects.filter(project=page.project).select_related("tier").order_by("tier__name", "name")
    )
    names = [m.name for m in models]
    a, b = page.request.GET.get("a"), page.request.GET.get("b")
    if a not in names or b not in names:
        kept_b = b if b in names else None
        a, b = _default_pair(models, a if a in names else None)
        if kept_b and kept_b != a:
            b = kept_b
    result: dict[str, Any] = {"mode": "ab", "models": models, "a": a, "b": b}
    if a and b:
        filters = {k: v for k, v in page.state.filters.items() if k != "model"} | {"model": (a, b)}
        rows = report(page.state.query(page.project.pk, group_by=("model",), filters=filters))
        result.update(compare_sides(a, _one(rows, a), b, _one(rows, b)))
    return result


def _default_pair(models: list[ModelVersion], a: str | None) -> tuple[str | None, str | None]:
    """An older (deprecated) version against the current one of its tier, when there is one."""
    for old in models:
        if old.lifecycle != ModelVersion.Lifecycle.ACTIVE and (a is None or old.name == a):
            current = next((m for m in models if m.tier_id == old.tier_id and m.lifecycle == "active"), None)
            if current:
                return old.name, current.name
    rest = [m.name for m in models if m.name != a]
    first = a or (rest.pop(0) if rest else None)
    return first, rest[0] if rest else None


def before_after(page: ProjectPage, annotation_id: int) -> dict[str, Any] | None:
    note = annotation_for(page.project.pk, annotation_id)
    if note is None:
        return None
    at = math.floor(note.time.timestamp())
    now = math.floor(time.time())
    # Equal windows: as long as the chosen range, but no longer than the time since.
    side = min(page.state.end - page.state.start, now - at)
    filters = combined_filters(page.state.filters, note.filter or {})
    before_w, after_w = Window(at - side, at), Window(at, at + side)
    result: dict[str, Any] = {
        "mode": "before_after",
        "annotation": note,
        "at": plotly_time_s(at),
        "before_window": (plotly_time_s(before_w.start), plotly_time_s(before_w.end)),
        "after_window": (plotly_time_s(after_w.start), plotly_time_s(after_w.end)),
        "side_s": side,
        "scope": filters,
    }
    if side < MIN_SIDE_S:
        text = "Less than a minute has passed since the annotation: not enough after it to compare yet."
        result.update({"table": None, "verdict": {"kind": "empty", "text": text}})
        return result
    if filters is None:
        text = "The page's filters and the annotation's leave nothing in common: nothing to compare."
        result.update({"table": None, "verdict": {"kind": "empty", "text": text}})
        return result

    def side_row(window: Window) -> ReportRow | None:
        return _one(report(page.state.query(page.project.pk, window=window, group_by=(), filters=filters)))

    result.update(compare_sides("Before", side_row(before_w), "After", side_row(after_w)))
    return result


def combined_filters(
    page: Mapping[str, Sequence[str]], note: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]] | None:
    """The page's filters narrowed by the annotation's; None when a dimension keeps no value."""
    combined = {name: tuple(values) for name, values in page.items()}
    for name, values in note.items():
        kept = tuple(v for v in combined.get(name, values) if v in values)
        if not kept:
            return None
        combined[name] = kept
    return combined


def compare(page: ProjectPage) -> dict[str, Any]:
    raw = page.request.GET.get("annotation")
    if raw:
        try:
            found = before_after(page, int(raw))
        except ValueError:
            found = None
        if found is not None:
            return found
        return {**version_ab(page), "problem": f"No annotation {raw!r} in this project; showing version A/B."}
    return version_ab(page)
