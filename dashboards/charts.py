"""Plotly figures (as plain dicts) from the metrics engine's time series.

Figures are built here, in Python, so the page's script only hands them to Plotly
(and draws the annotations on top). Times go out as Unix milliseconds, which a date
axis shows in UTC, so the browser's time zone never shifts them; values go out to
four significant digits (percentiles are within 1 % anyway), which halves a long
range's page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from django.utils.safestring import SafeString, mark_safe

from monitor.metrics.definitions import headroom_limit
from monitor.timeutil import parse_rfc3339_us

PALETTE = ("#2f6fde", "#e4572e", "#29a35a", "#9b5de5", "#f2a541", "#17becf", "#8c564b", "#d62780")
PERCENTILE_DASH = {"p50": "dot", "p95": "solid", "p99": "dash"}

Series = Sequence[Mapping[str, Any]]


# What Django's json_script escapes, so the JSON cannot close its <script> element.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def figures_json(figures: Mapping[str, Any]) -> SafeString:
    """The figures for a ``<script type="application/json">``: orjson, since a long
    range's figures are a megabyte and the standard encoder took a tenth of a second."""
    text = orjson.dumps(figures, default=float).decode()
    return mark_safe(text.translate(_SCRIPT_ESCAPES))


@lru_cache(maxsize=8192)
def plotly_time(rfc3339: str) -> int:
    """Milliseconds since the epoch: what a Plotly date axis reads as UTC.

    Cached: every series of a chart has the same times, a 24-hour chart 1,440 of them."""
    us = parse_rfc3339_us(rfc3339)
    assert us is not None
    return us // 1000


def trimmed(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


def plotly_time_s(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def plotly_text(text: str) -> str:
    """Plotly reads some HTML tags (links among them) in names and labels: show them as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label_of(labels: Mapping[str, str]) -> str:
    return plotly_text(" / ".join(labels.values()))


def colours(series: Series) -> dict[str, str]:
    return {label_of(s["labels"]): PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}


def _layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
        "height": 300,
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", **extra.pop("yaxis", {})},
        **extra,
    }


def _line(name: str, xs: list[int], ys: list[Any], colour: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": xs,
        "y": [trimmed(y) for y in ys],
        "line": {"color": colour, "width": 2, **extra.pop("line", {})},
        "connectgaps": False,
        **extra,
    }


def _xs(s: Mapping[str, Any]) -> list[int]:
    return [plotly_time(p["t"]) for p in s["points"]]


def percentile_chart(
    series: Series, metric: str, title: str, shown: tuple[str, ...] = tuple(PERCENTILE_DASH)
) -> dict[str, Any]:
    """p50 / p95 / p99 (or those ``shown``) of ``latency_ms`` or ``ttft_ms`` per group."""
    palette, traces = colours(series), []
    for s in series:
        name, xs = label_of(s["labels"]), _xs(s)
        for pct in shown:
            dash = PERCENTILE_DASH[pct]
            ys = [p[metric][pct] for p in s["points"]]
            traces.append(
                _line(f"{name} {pct}", xs, ys, palette[name], line={"dash": dash}, legendgroup=name)
                | {"visible": True if pct == "p95" else "legendonly"}
            )
    return {"data": traces, "layout": _layout(title, "ms")}


def qps_chart(series: Series, rated: Mapping[str, float | None]) -> dict[str, Any]:
    """QPS per group, its peak second marked, and the tier's rated capacity and headroom line."""
    palette, traces = colours(series), []
    for s in series:
        name, xs = label_of(s["labels"]), _xs(s)
        traces.append(_line(f"{name} QPS", xs, [p["qps"] for p in s["points"]], palette[name], legendgroup=name))
        peaks = [(p["peak_qps"], x) for p, x in zip(s["points"], xs, strict=True) if p["peak_qps"] is not None]
        if peaks:
            top, at = max(peaks)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers+text",
                    "name": f"{name} peak",
                    "x": [at],
                    "y": [top],
                    "text": [f"peak {top:,.0f}/s"],
                    "textposition": "top center",
                    "marker": {"color": palette[name], "size": 10, "symbol": "triangle-up"},
                    "legendgroup": name,
                }
            )
        capacity = rated.get(s["labels"].get("tier", ""))
        if capacity and xs:
            ends = [xs[0], xs[-1]]
            rated_line = _line(f"{name} rated", ends, [capacity] * 2, palette[name], line={"dash": "dash", "width": 1})
            traces.append(rated_line | {"legendgroup": name})
            limit = [headroom_limit(capacity)] * 2
            headroom = _line(f"{name} 80 % headroom", ends, limit, palette[name], line={"dash": "dot", "width": 1})
            traces.append(headroom | {"legendgroup": name, "visible": "legendonly"})
    return {"data": traces, "layout": _layout("Calls per second (peak second marked)", "calls/s")}


def simple_chart(
    series: Series, title: str, y_title: str, value: Callable[[Mapping[str, Any]], Any], *, kind: str = "line"
) -> dict[str, Any]:
    palette, traces = colours(series), []
    for s in series:
        name, xs = label_of(s["labels"]), _xs(s)
        ys = [trimmed(value(p)) for p in s["points"]]
        if kind == "bar":
            traces.append({"type": "bar", "name": name, "x": xs, "y": ys, "marker": {"color": palette[name]}})
        else:
            traces.append(_line(name, xs, ys, palette[name]))
    layout = _layout(title, y_title)
    if kind == "bar":
        layout["barmode"] = "stack"
    return {"data": traces, "layout": layout}


def error_rate_chart(series: Series) -> dict[str, Any]:
    chart = simple_chart(
        series, "Error rate", "% of calls", lambda p: None if p["error_rate"] is None else p["error_rate"] * 100
    )
    chart["layout"]["yaxis"]["ticksuffix"] = " %"
    return chart


def cost_chart(series: Series, currency: str) -> dict[str, Any]:
    return simple_chart(series, f"Cost per interval ({currency})", currency, lambda p: p["cost"], kind="bar")


def capacity_chart(rows: Sequence[tuple[str, float | None, float | None]]) -> dict[str, Any]:
    """Peak QPS against rated QPS per tier, with the 80 % headroom line."""
    names = [plotly_text(name) for name, _, _ in rows]
    peak = {
        "type": "bar",
        "name": "peak QPS",
        "x": names,
        "y": [p for _, p, _ in rows],
        "marker": {"color": PALETTE[0]},
    }
    rated = {
        "type": "bar",
        "name": "rated QPS",
        "x": names,
        "y": [r for _, _, r in rows],
        "marker": {"color": "#b8c4d6"},
    }
    limit = {
        "type": "scatter",
        "mode": "markers",
        "name": "80 % of rated (20 % headroom)",
        "x": names,
        "y": [headroom_limit(r) for _, _, r in rows],
        "marker": {"symbol": "line-ew-open", "size": 36, "color": "#e4572e", "line": {"width": 3}},
    }
    return {
        "data": [peak, rated, limit],
        "layout": {
            "title": {"text": "Peak QPS vs rated QPS", "x": 0, "font": {"size": 15}},
            "barmode": "group",
            "height": 300,
            "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
            "legend": {"orientation": "h", "y": -0.2},
            "yaxis": {"title": {"text": "calls/s"}, "rangemode": "tozero"},
        },
    }
