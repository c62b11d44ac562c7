"""Cover a time range with rollup buckets: the coarsest that fit, finer ones at the edges.

A 30-day report reads about 30 day rows per series, plus hours, minutes and seconds
at its two ends, and is exact to the second. Per-second rollups are kept only
FINE_RETENTION_DAYS: older edges are widened to whole minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from monitor.rollups.levels import LEVELS, MINUTE, SECOND, Level


@dataclass(frozen=True)
class Piece:
    level: Level
    start: int  # bucket starts in [start, end), aligned to the level
    end: int


def cover(start: int, end: int, levels: tuple[Level, ...]) -> list[Piece]:
    """Pieces tiling [start, end); ``levels`` coarsest first, the finest must be 1 s."""
    if start >= end:
        return []
    for position, level in enumerate(levels):
        size = level.seconds
        first = -(-start // size) * size
        last = end // size * size
        if first < last:
            finer = levels[position + 1 :]
            return [*cover(start, first, finer), Piece(level, first, last), *cover(last, end, finer)]
    raise AssertionError("the finest level must be one second")


def fine_cutoff(now: float | None = None) -> int:
    """The oldest second that still has per-second rollups."""
    current = int(time.time() if now is None else now)
    day = 86_400
    return (current // day - settings.FINE_RETENTION_DAYS + 1) * day


def past_fine_retention(pieces: list[Piece], cutoff: int) -> list[Piece]:
    """Second pieces older than the per-second rollups, widened to whole minutes."""
    out: list[Piece] = []
    for piece in pieces:
        if piece.level is SECOND and piece.start < cutoff:
            old_end = min(piece.end, cutoff)
            out.append(Piece(MINUTE, piece.start - piece.start % 60, -(-old_end // 60) * 60))
            if piece.end > cutoff:
                out.append(Piece(SECOND, cutoff, piece.end))
        else:
            out.append(piece)
    return out


def plan(start: int, end: int, step: int | None = None, now: float | None = None) -> list[Piece]:
    """Pieces for [start, end); with a step, only levels whose buckets nest in its buckets."""
    levels = tuple(reversed([lvl for lvl in LEVELS if step is None or step % lvl.seconds == 0]))
    return past_fine_retention(cover(start, end, levels), fine_cutoff(now))
