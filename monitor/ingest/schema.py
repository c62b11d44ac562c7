"""The ingest contract's record, as a msgspec type: decoding *is* field validation.

msgspec checks types, ranges, lengths and unknown fields in C while it decodes,
which is what lets one process validate ~1M records/s. The rules msgspec cannot
express (time range, blank strings, cross-field rules) are in ``validate.py``.
``FIELD_RULES`` words every rule once, for error messages and the OpenAPI schema.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from monitor.catalogue.names import MAX_NAME_LENGTH, NAME_RULE

MAX_RECORDS = 10_000
MAX_BODY_BYTES = 10 * 1024 * 1024
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
# Costs are stored in 1e-9 units in a bigint: this keeps any one record's cost in range.
MAX_COST = 9_000_000_000

Name = Annotated[str, Meta(min_length=1, max_length=MAX_NAME_LENGTH)]
# Bounds that no real call reaches but that keep every rollup sum far from float
# overflow (a single 1e308 would stop the rollups of every project).
MAX_DURATION_MS = 1e10  # about 116 days
MAX_ENERGY_WH = 1e12
Duration = Annotated[float, Meta(ge=0, le=MAX_DURATION_MS)]
Energy = Annotated[float, Meta(ge=0, le=MAX_ENERGY_WH)]
Cost = Annotated[float, Meta(ge=0, le=MAX_COST)]
Count64 = Annotated[int, Meta(ge=0, le=INT64_MAX)]
Count32 = Annotated[int, Meta(ge=0, le=INT32_MAX)]
Positive32 = Annotated[int, Meta(ge=1, le=INT32_MAX)]


class Record(msgspec.Struct, forbid_unknown_fields=True):
    """One call (an event) or a window summary; ``None`` means the field was absent or null."""

    ts: float | str
    service: Name
    tier: Name
    latency_ms: Duration
    model: Name | None = None
    deployment: Name | None = None
    ttft_ms: Duration | None = None
    tokens_in: Count64 | None = None
    tokens_out: Count64 | None = None
    reasoning_tokens: Count64 | None = None
    status: Literal["ok", "error"] | None = None
    error_type: Name | None = None
    cost: Cost | None = None
    cache_hit: bool | None = None
    energy_wh: Energy | None = None
    count: Positive32 | None = None
    window_s: Positive32 | None = None
    errors: Count32 | None = None
    cache_hits: Count32 | None = None


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    records: Annotated[list[Record], Meta(min_length=1, max_length=MAX_RECORDS)]


RECORD_FIELDS: tuple[str, ...] = Record.__struct_fields__

# One sentence per field: the 400's message and the OpenAPI description.
FIELD_RULES: dict[str, str] = {
    "ts": "must be the time the call finished: Unix seconds (a JSON number) or an RFC 3339 string "
    "with an offset, at most 5 minutes in the future and not older than the raw retention",
    "service": NAME_RULE,
    "tier": NAME_RULE,
    "model": f"{NAME_RULE} (default: the tier)",
    "deployment": f"{NAME_RULE} (default: 'default')",
    "latency_ms": f"must be a number from 0 to {MAX_DURATION_MS:,.0f} (end-to-end duration in milliseconds)",
    "ttft_ms": f"must be a number from 0 to {MAX_DURATION_MS:,.0f} and not more than latency_ms",
    "tokens_in": "must be a JSON integer ≥ 0",
    "tokens_out": "must be a JSON integer ≥ 0",
    "reasoning_tokens": "must be a JSON integer ≥ 0 and not more than tokens_out (it is part of them)",
    "status": 'must be "ok" or "error" (single calls only)',
    "error_type": NAME_RULE,
    "cost": f"must be a finite number from 0 to {MAX_COST:,} in the project's currency",
    "cache_hit": "must be true or false (single calls only)",
    "energy_wh": f"must be a number from 0 to {MAX_ENERGY_WH:,.0f}",
    "count": f"must be a JSON integer from 1 to {INT32_MAX:,} (window summaries only)",
    "window_s": f"must be a JSON integer from 1 to {INT32_MAX:,} (window summaries only)",
    "errors": "must be a JSON integer from 0 to count (window summaries only)",
    "cache_hits": "must be a JSON integer from 0 to count (window summaries only)",
}
assert set(FIELD_RULES) == set(RECORD_FIELDS), "every record field needs its rule"
