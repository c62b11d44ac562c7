"""Admin for ingest batches: read-only, with a preview of the batch's raw rows.

Batches are written by ingest only (in the same transaction as their rows), so
the admin can neither add, change nor delete one: a deleted batch would leave
its raw rows behind, and an edited one would mislead the rollups.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from monitor.catalogue.models import Series
from monitor.timeutil import from_us

from .models import IngestBatch
from .raw import batch_rows

if TYPE_CHECKING:
    _IngestBatchAdmin = admin.ModelAdmin[IngestBatch]
else:
    _IngestBatchAdmin = admin.ModelAdmin

PREVIEW_ROWS = 50
NANO = Decimal(1_000_000_000)
# Raw columns shown in the preview, in this order (batch_id is the batch itself).
PREVIEW_COLUMNS = (
    ("ts_us", "ts (UTC)"),
    ("series_id", "series"),
    ("latency_ms", "latency ms"),
    ("ttft_ms", "TTFT ms"),
    ("tokens_in", "tokens in"),
    ("tokens_out", "tokens out"),
    ("reasoning_tokens", "reasoning"),
    ("cost_nano", "cost"),
    ("energy_wh", "energy Wh"),
    ("calls", "calls"),
    ("errors", "errors"),
    ("cache_hits", "cache hits"),
    ("window_s", "window s"),
    ("error_type", "error type"),
)


def _utc(ts_us: int) -> str:
    return from_us(ts_us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cell(column: str, value: Any, series: dict[int, str]) -> str:
    if value is None:
        return "—"
    if column == "ts_us":
        return _utc(value)
    if column == "series_id":
        return f"{value}: {series[value]}" if value in series else str(value)
    if column == "cost_nano":
        return str((Decimal(value) / NANO).normalize())
    return str(value)


def raw_preview_table(batch: IngestBatch, limit: int = PREVIEW_ROWS) -> SafeString:
    """An HTML table of the first ``limit`` raw rows of ``batch`` (every value escaped)."""
    rows = batch_rows(batch.pk, batch.min_ts_us, batch.max_ts_us, limit=limit)
    if not rows:
        return format_html("<p>{}</p>", "No raw rows: they are gone once their day is past the raw retention.")
    ids = {row["series_id"] for row in rows}
    series = {s.pk: str(s) for s in Series.objects.filter(pk__in=ids).select_related("tier", "model")}
    head = format_html_join("", "<th>{}</th>", ((label,) for _, label in PREVIEW_COLUMNS))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((_cell(col, row[col], series),) for col, _ in PREVIEW_COLUMNS)),)
            for row in rows
        ),
    )
    table = format_html(
        '<div style="overflow-x:auto"><table class="raw-rows">'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>",
        head,
        body,
    )
    if len(rows) < batch.records:
        return format_html("<p>The first {} of {} records.</p>{}", len(rows), batch.records, table)
    return table


class RollupStateFilter(admin.SimpleListFilter):
    title = "rollup"
    parameter_name = "rolled_up"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Rolled up"), ("no", "Waiting"), ("failed", "Set aside (failed)")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "yes":
            return queryset.filter(rolled_up_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(rolled_up_at__isnull=True, rollup_error__isnull=True)
        if self.value() == "failed":
            return queryset.filter(rollup_error__isnull=False)
        return queryset


@admin.register(IngestBatch)
class IngestBatchAdmin(_IngestBatchAdmin):
    list_display = ["id", "project", "received_at", "records", "calls", "idempotency_key", "rolled_up_at"]
    list_filter = [RollupStateFilter, "project"]
    search_fields = ["idempotency_key"]
    list_select_related = ["project"]
    ordering = ["-id"]
    # The table grows with every request: no second COUNT(*) of all of it when a filter is on.
    show_full_result_count = False
    fields = (
        "id",
        "project",
        "received_at",
        "records",
        "calls",
        "first_record",
        "last_record",
        "idempotency_key",
        "rolled_up_at",
        "rollup_error",
        "raw_rows",
    )
    readonly_fields = fields

    @admin.display(description="earliest record")
    def first_record(self, obj: IngestBatch) -> str:
        return _utc(obj.min_ts_us)

    @admin.display(description="latest record")
    def last_record(self, obj: IngestBatch) -> str:
        return _utc(obj.max_ts_us)

    @admin.display(description=f"raw rows (first {PREVIEW_ROWS})")
    def raw_rows(self, obj: IngestBatch) -> SafeString:
        return raw_preview_table(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IngestBatch | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IngestBatch | None = None) -> bool:
        return False
