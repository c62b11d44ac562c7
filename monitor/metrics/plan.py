"""Cover a time range with rollup buckets: the coarsest that fit, finer ones at the edges.

A 30-day report reads about 30 day rows per series or group, plus hours, minutes and
seconds at its two ends, and is exact to the second. The cover here is *static*: it
does not depend on what is compacted. Where a bucket of the cover is stale (see
``monitor.rollups.stale``) the rows of the level below inside it are read instead;
that is decided in SQL (``sources.py``), so a query's size never grows with the
number of stale buckets.

Per-second rollups are kept only FINE_RETENTION_DAYS: older edges are widened to
whole minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings

from monitor.rollups.levels import LEVELS, MINUTE, SECOND, Level


@dataclass(frozen=True)
class Span:
    start: int  # [start, end), aligned to the level it is read at
    end: int


@dataclass(frozen=True)
class Plan:
    """What to read at each level: ``pieces`` of the static cover, and ``within``, the span
    covered by coarser levels, inside which this level is read where the coarser bucket
    (the next coarser level in ``levels``) is stale."""

    levels: tuple[Level, ...]  # coarsest first; the last is one second
    pieces: dict[Level, list[Span]] = field(default_factory=dict)
    within: dict[Level, Span | None] = field(default_factory=dict)

    def coarser(self, level: Level) -> Level | None:
        position = self.levels.index(level)
        return self.levels[position - 1] if position else None


def cover(start: int, end: int, levels: tuple[Level, ...]) -> list[tuple[Level, Span]]:
    """Pieces tiling [start, end); ``levels`` coarsest first, the finest must be 1 s."""
    if start >= end:
        return []
    for position, level in enumerate(levels):
        size = level.seconds
        first = -(-start // size) * size
        last = end // size * size
        if first < last:
            finer = levels[position + 1 :]
            return [*cover(start, first, finer), (level, Span(first, last)), *cover(last, end, finer)]
    raise AssertionError("the finest level must be one second")


def fine_cutoff(now: float | None = None) -> int:
    """The oldest second that still has per-second rollups."""
    current = int(time.time() if now is None else now)
    day = 86_400
    return (current // day - settings.FINE_RETENTION_DAYS + 1) * day


def _widened(pieces: list[tuple[Level, Span]], cutoff: int) -> list[tuple[Level, Span]]:
    """Second pieces older than the per-second rollups, widened to whole minutes."""
    out: list[tuple[Level, Span]] = []
    for level, span in pieces:
        if level is SECOND and span.start < cutoff:
            old_end = min(span.end, cutoff)
            out.append((MINUTE, Span(span.start - span.start % 60, -(-old_end // 60) * 60)))
            if span.end > cutoff:
                out.append((SECOND, Span(cutoff, span.end)))
        else:
            out.append((level, span))
    return out


def plan(start: int, end: int, step: int | None = None, now: float | None = None) -> Plan:
    """The plan for [start, end); with a step, only levels whose buckets nest in its buckets."""
    levels = tuple(reversed([lvl for lvl in LEVELS if step is None or step % lvl.seconds == 0]))
    pieces = _widened(cover(start, end, levels), fine_cutoff(now))
    if any(level is MINUTE for level, _ in pieces) and MINUTE not in levels:
        # Widened seconds are read as minutes even where the step does not nest minutes.
        levels = (*levels[:-1], MINUTE, SECOND)
    result = Plan(levels)
    for level in levels:
        result.pieces[level] = [span for lvl, span in pieces if lvl is level]
        coarser = [span for lvl, span in pieces if lvl.seconds > level.seconds]
        # The pieces of coarser levels are contiguous: the cover is symmetric.
        result.within[level] = Span(min(s.start for s in coarser), max(s.end for s in coarser)) if coarser else None
    return result
