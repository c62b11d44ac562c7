"""Cover a time range with rollup buckets: the coarsest that fit, finer ones at the edges.

A 30-day report reads about 30 day rows per series, plus hours, minutes and seconds
at its two ends, and is exact to the second. Per-second rollups are kept only
FINE_RETENTION_DAYS: older edges are widened to whole minutes.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from monitor.rollups.levels import LEVELS, MINUTE, SECOND, Level


@dataclass(frozen=True)
class Piece:
    level: Level
    start: int  # bucket starts in [start, end), aligned to the level
    end: int


def cover(start: int, end: int, levels: tuple[Level, ...], dirty: Sequence[int] = ()) -> list[Piece]:
    """Pieces tiling [start, end); ``levels`` coarsest first, the finest must be 1 s.

    ``dirty`` (sorted) are minutes whose coarser rollups are not rebuilt yet: a bucket
    holding one is covered by finer levels instead, down to seconds if need be.
    """
    if start >= end:
        return []
    for position, level in enumerate(levels):
        size = level.seconds
        first = -(-start // size) * size
        last = end // size * size
        if first < last:
            finer = levels[position + 1 :]
            return [*cover(start, first, finer, dirty), *_clean_runs(level, first, last, finer, dirty),
                    *cover(last, end, finer, dirty)]  # fmt: skip
    raise AssertionError("the finest level must be one second")


def _clean_runs(level: Level, first: int, last: int, finer: tuple[Level, ...], dirty: Sequence[int]) -> list[Piece]:
    """[first, last) at ``level``, except its dirty buckets, which finer levels cover."""
    if level is SECOND:
        return [Piece(level, first, last)]
    size = level.seconds
    stained = sorted({m - m % size for m in dirty[bisect_left(dirty, first) : bisect_left(dirty, last)]})
    pieces: list[Piece] = []
    at = first
    for bucket in stained:
        if at < bucket:
            pieces.append(Piece(level, at, bucket))
        pieces += cover(bucket, bucket + size, finer, dirty)
        at = bucket + size
    if at < last:
        pieces.append(Piece(level, at, last))
    return pieces


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


def dirty_minutes(start: int, end: int) -> list[int]:
    """Minutes in the days of [start, end) whose coarser rollups are still to be rebuilt."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT minute FROM rollup_dirty WHERE minute >= %s AND minute < %s ORDER BY minute",
            [start - start % 86_400, end],
        )
        return [row[0] for row in cursor.fetchall()]


def plan(start: int, end: int, step: int | None = None, now: float | None = None) -> list[Piece]:
    """Pieces for [start, end); with a step, only levels whose buckets nest in its buckets."""
    levels = tuple(reversed([lvl for lvl in LEVELS if step is None or step % lvl.seconds == 0]))
    return past_fine_retention(cover(start, end, levels, dirty_minutes(start, end)), fine_cutoff(now))
