"""What is asked of the metrics engine: a project, a time window, a grouping and filters, a step.

Parsing request parameters into a Query is the HTTP edge's job (``monitor.api.params``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.rollups.levels import DIMENSIONS

__all__ = ["DIMENSIONS", "Query", "Window"]

DEFAULT_STEP_S = 60


@dataclass(frozen=True)
class Window:
    """Whole seconds ``[start, end)``; ``end`` is never after now."""

    start: int
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Query:
    project_id: int
    window: Window
    group_by: tuple[str, ...] = ("tier",)
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    step: int = DEFAULT_STEP_S
    stability_interval: int = 60

    def points(self) -> list[int]:
        """Starts of the step buckets (aligned to the epoch) that meet the window."""
        first = self.window.start - self.window.start % self.step
        return list(range(first, self.window.end, self.step))
