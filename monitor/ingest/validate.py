"""Decode and validate a whole ingest batch, or explain precisely why it is rejected.

Valid batches take the fast path: one msgspec decode (types, ranges, lengths,
unknown fields) and one Python pass for the rules msgspec cannot express. Only a
rejected batch is decoded a second time, record by record, to list up to 100
``{"index", "field", "message"}`` details.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import msgspec

from monitor.api.errors import MAX_DETAILS
from monitor.catalogue.names import name_problem
from monitor.catalogue.series import SeriesKey
from monitor.timeutil import parse_rfc3339_us, to_us

from .schema import FIELD_RULES, MAX_RECORDS, Batch, Record

FUTURE_TOLERANCE_S = 300
DEFAULT_DEPLOYMENT = "default"

_decoder = msgspec.json.Decoder(Batch)


@dataclass(frozen=True)
class Problem:
    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class BatchRejected(Exception):
    """The batch stores nothing; ``status`` is 400 or 413."""

    def __init__(self, status: int, error: str, problems: list[Problem] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.problems = (problems or [])[:MAX_DETAILS]

    @property
    def details(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems]


@dataclass(frozen=True)
class TimeWindow:
    """Accepted record times, in Unix microseconds."""

    earliest_us: int
    latest_us: int
    retention_days: int

    @classmethod
    def around(cls, now: datetime, retention_days: int) -> TimeWindow:
        now_us = to_us(now)
        return cls(
            earliest_us=now_us - retention_days * 86_400 * 1_000_000,
            latest_us=now_us + FUTURE_TOLERANCE_S * 1_000_000,
            retention_days=retention_days,
        )


@dataclass
class ValidBatch:
    """Records that passed every rule, with each one's time and series (an index into distinct_keys)."""

    records: list[Record]
    ts_us: list[int]
    series_index: list[int]
    distinct_keys: list[SeriesKey]
    calls: int

    @cached_property
    def min_ts_us(self) -> int:
        return min(self.ts_us)

    @cached_property
    def max_ts_us(self) -> int:
        return max(self.ts_us)


def _series_key_problem(key: SeriesKey) -> tuple[str, str] | None:
    for name, value in zip(("service", "tier", "model", "deployment"), key, strict=True):
        message = name_problem(value)
        if message:
            return name, message
    return None


def _check(records: Sequence[Record | None], window: TimeWindow, problems: list[Problem]) -> ValidBatch:
    """The rules msgspec cannot express, in one pass; appends to ``problems``.

    Numbers are finite here: msgspec's JSON decoder refuses 1e999 and NaN, and the
    slow path checks what the standard library's decoder lets through.

    Kept as one flat loop on purpose: it runs for every record of every batch.
    """
    ts_out: list[int] = []
    # Each record's series as an index into distinct_keys: hashing a 4-tuple once, not per pass.
    key_ids: dict[SeriesKey, int] = {}
    distinct_keys: list[SeriesKey] = []
    key_problems: list[tuple[str, str] | None] = []
    series_index: list[int] = []
    error_type_problems: dict[str, str | None] = {}
    calls = 0
    earliest, latest = window.earliest_us, window.latest_us
    floor = math.floor
    add = problems.append

    for i, r in enumerate(records):
        if problems and len(problems) >= MAX_DETAILS:
            break
        if r is None:  # failed type checks; already reported
            continue
        ts = r.ts
        if type(ts) is float:
            seconds = floor(ts)
            # Floor to the microsecond without letting rounding move the call's second.
            fraction = int((ts - seconds) * 1e6)
            us = seconds * 1_000_000 + (fraction if fraction < 1_000_000 else 999_999)
        else:
            parsed = parse_rfc3339_us(ts)  # type: ignore[arg-type]
            if parsed is None:
                add(
                    Problem(
                        i, "ts", "must be Unix seconds or an RFC 3339 time with an offset, e.g. 2026-01-31T12:00:00Z"
                    )
                )
                continue
            us = parsed
        if us > latest:
            add(Problem(i, "ts", f"is more than {FUTURE_TOLERANCE_S // 60} minutes in the future"))
        elif us < earliest:
            add(Problem(i, "ts", f"is older than the raw retention ({window.retention_days} days)"))

        tier = r.tier
        key = (
            r.service,
            tier,
            tier if r.model is None else r.model,
            DEFAULT_DEPLOYMENT if r.deployment is None else r.deployment,
        )
        key_id = key_ids.get(key)
        if key_id is None:
            key_id = key_ids[key] = len(distinct_keys)
            distinct_keys.append(key)
            key_problems.append(_series_key_problem(key))
        bad = key_problems[key_id]
        if bad is not None:
            add(Problem(i, bad[0], bad[1]))

        ttft = r.ttft_ms
        if ttft is not None and ttft > r.latency_ms:
            add(Problem(i, "ttft_ms", FIELD_RULES["ttft_ms"]))
        if r.reasoning_tokens is not None and (r.tokens_out is None or r.reasoning_tokens > r.tokens_out):
            add(Problem(i, "reasoning_tokens", FIELD_RULES["reasoning_tokens"]))
        error_type = r.error_type
        if error_type is not None:
            if error_type not in error_type_problems:
                error_type_problems[error_type] = name_problem(error_type)
            message = error_type_problems[error_type]
            if message:
                add(Problem(i, "error_type", message))

        count = r.count
        if count is None and r.window_s is None:  # a single call
            if r.errors is not None:
                add(
                    Problem(i, "errors", "is for window summaries (with count and window_s); a single call uses status")
                )
            if r.cache_hits is not None:
                add(
                    Problem(
                        i,
                        "cache_hits",
                        "is for window summaries (with count and window_s); a single call uses cache_hit",
                    )
                )
            calls += 1
        else:  # a window summary
            if count is None:
                add(Problem(i, "count", "is required in a window summary (a record with window_s)"))
                continue
            if r.window_s is None:
                add(Problem(i, "window_s", "is required in a window summary (a record with count)"))
            if r.status is not None:
                add(Problem(i, "status", "is for single calls; a window summary reports errors"))
            if r.cache_hit is not None:
                add(Problem(i, "cache_hit", "is for single calls; a window summary reports cache_hits"))
            errors = r.errors or 0
            if errors > count:
                add(Problem(i, "errors", "must not be more than count"))
            if r.cache_hits is not None and r.cache_hits > count:
                add(Problem(i, "cache_hits", "must not be more than count"))
            calls += count
        ts_out.append(us)
        series_index.append(key_id)

    return ValidBatch(
        records=[r for r in records if r is not None],
        ts_us=ts_out,
        series_index=series_index,
        distinct_keys=distinct_keys,
        calls=calls,
    )


def validate_batch(body: bytes, window: TimeWindow) -> ValidBatch:
    """The validated batch, or ``BatchRejected`` with the reasons."""
    try:
        decoded = _decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise explain_rejection(body, window, exc) from None
    problems: list[Problem] = []
    valid = _check(list(decoded.records), window, problems)
    if problems:
        raise _rejected(problems)
    return valid


def _rejected(problems: list[Problem]) -> BatchRejected:
    first = problems[0]
    if first.index is None:
        where = first.field or "the body"
    else:
        where = f"record {first.index}" + (f", {first.field}" if first.field else "")
    noun = "record" if len(problems) == 1 else "records"
    return BatchRejected(
        400,
        f"The batch was rejected and nothing was stored: {len(problems)}{'+' if len(problems) >= MAX_DETAILS else ''} "
        f"invalid {noun}; first: {where} {first.message}.",
        problems,
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_MSGSPEC_FIELD = re.compile(r"field `([^`]+)`")
_MSGSPEC_PATH = re.compile(r"at `\$(?:\.records\[\d+\])?\.?([A-Za-z_]*)")


def _problem_from_msgspec(index: int, exc: msgspec.ValidationError) -> Problem:
    text = str(exc)
    named = _MSGSPEC_FIELD.search(text)
    if text.startswith("Object contains unknown field") and named:
        return Problem(index, named.group(1), "is not a record field")
    if text.startswith("Object missing required field") and named:
        return Problem(index, named.group(1), "is required")
    path = _MSGSPEC_PATH.search(text)
    name = path.group(1) if path else ""
    if name in FIELD_RULES and "got `null`" in text:
        return Problem(index, name, "is required")
    if name in FIELD_RULES:
        return Problem(index, name, FIELD_RULES[name])
    return Problem(index, None, "must be a JSON object of record fields")


_FLOAT_FIELDS = ("ts", "latency_ms", "ttft_ms", "cost", "energy_wh")


def _infinite_field(rec: Record) -> str | None:
    """A field holding ±inf: the standard library decodes 1e999 to it, msgspec refuses it."""
    for name in _FLOAT_FIELDS:
        value = getattr(rec, name)
        if type(value) is float and not math.isfinite(value):
            return name
    return None


def explain_rejection(body: bytes, window: TimeWindow, cause: Exception | None = None) -> BatchRejected:
    """Decode a rejected body slowly, record by record, to say what is wrong with it."""
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        return BatchRejected(400, "The body is not valid UTF-8.", [Problem(None, None, "the body is not valid UTF-8")])
    except ValueError as exc:
        return BatchRejected(400, f"The body is not valid JSON: {exc}.", [Problem(None, None, f"invalid JSON: {exc}")])
    except RecursionError:
        message = "the body nests arrays or objects too deeply"
        return BatchRejected(400, f"The body is not a batch: {message}.", [Problem(None, None, message)])
    if not isinstance(doc, dict):
        return BatchRejected(
            400,
            'The body must be a JSON object with a "records" array.',
            [Problem(None, None, 'the body must be a JSON object: {"records": [...]}')],
        )
    unknown = sorted(set(doc) - {"records"})
    if unknown:
        return BatchRejected(
            400,
            f'Unknown batch field {unknown[0]!r}: the body holds only "records".',
            [Problem(None, name, "is not a batch field") for name in unknown],
        )
    records = doc.get("records")
    if not isinstance(records, list):
        message = f"must be an array of 1 to {MAX_RECORDS:,} records"
        return BatchRejected(400, f"records {message}.", [Problem(None, "records", message)])
    if not records:
        message = f"is empty: send 1 to {MAX_RECORDS:,} records"
        return BatchRejected(400, f"records {message}.", [Problem(None, "records", message)])
    if len(records) > MAX_RECORDS:
        message = f"holds {len(records):,} records; the most a batch may hold is {MAX_RECORDS:,}"
        return BatchRejected(413, f"Too many records: {message}.", [Problem(None, "records", message)])

    problems: list[Problem] = []
    converted: list[Record | None] = []
    for i, item in enumerate(records):
        try:
            rec = msgspec.convert(item, Record, strict=True)
        except msgspec.ValidationError as exc:
            problems.append(_problem_from_msgspec(i, exc))
            converted.append(None)
            continue
        infinite = _infinite_field(rec)
        if infinite:
            problems.append(Problem(i, infinite, FIELD_RULES[infinite]))
            converted.append(None)
        else:
            converted.append(rec)
    _check(converted, window, problems)
    if not problems:
        # Both decoders agree on every rule; this is only a safety net.
        reason = str(cause) if cause else "the body could not be decoded"
        problems = [Problem(None, None, reason)]
    problems.sort(key=lambda p: -1 if p.index is None else p.index)
    return _rejected(problems)
