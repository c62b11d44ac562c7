"""Turn a validated batch into raw-store rows in PostgreSQL's COPY text format.

This loop runs once per record on the ingest hot path, so it builds each line
with a single f-string and no per-field function calls.
"""

from __future__ import annotations

from monitor.store.raw import COLUMN_NAMES

from .pricing import NANO, PriceBook
from .series import SeriesRef
from .validate import SeriesKey, ValidBatch

COPY_SQL = f"COPY raw_records ({', '.join(COLUMN_NAMES)}) FROM STDIN"
_NULL = "\\N"


def copy_text(batch: ValidBatch, batch_id: int, series: dict[SeriesKey, SeriesRef], prices: PriceBook) -> bytes:
    lines: list[str] = []
    append = lines.append
    price_at = prices.price_at
    N = _NULL
    for r, us, key in zip(batch.records, batch.ts_us, batch.keys, strict=True):
        ref = series[key]
        count = r.count
        if count is None:  # a single call
            calls = 1
            errors = 1 if r.status == "error" else 0
            cache_hits = N if r.cache_hit is None else (1 if r.cache_hit else 0)
        else:
            calls = count
            errors = r.errors or 0
            cache_hits = N if r.cache_hits is None else r.cache_hits
        cost: int | str
        if r.cost is not None:
            cost = round(r.cost * NANO)
        else:
            point = price_at(ref, us)
            cost = N if point is None else point.cost(calls, r.tokens_in, r.tokens_out)
        error_type = r.error_type
        if error_type is None:
            error_type = N
        elif "\\" in error_type:  # the only character COPY text needs escaped here (no control chars)
            error_type = error_type.replace("\\", "\\\\")
        append(
            f"{us}\t{batch_id}\t{r.latency_ms!r}\t{N if r.ttft_ms is None else r.ttft_ms}\t"
            f"{N if r.tokens_in is None else r.tokens_in}\t{N if r.tokens_out is None else r.tokens_out}\t"
            f"{N if r.reasoning_tokens is None else r.reasoning_tokens}\t{cost}\t"
            f"{N if r.energy_wh is None else r.energy_wh}\t{ref.id}\t{calls}\t{errors}\t{cache_hits}\t"
            f"{N if r.window_s is None else r.window_s}\t{error_type}\n"
        )
    return "".join(lines).encode()
