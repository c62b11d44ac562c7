"""Reading annotations: one project's, in a time window or by id."""

from __future__ import annotations

from datetime import datetime

from monitor.timeutil import FIRST_S, LAST_S, US_PER_S, from_us

from .models import Annotation


def _at(seconds: int) -> datetime:
    return from_us(min(max(seconds, FIRST_S), LAST_S) * US_PER_S)


def annotations_in(project_id: int, start_s: int, end_s: int) -> list[Annotation]:
    """The project's annotations with ``start_s`` ≤ time < ``end_s`` (Unix seconds), oldest first."""
    if end_s <= start_s or start_s > LAST_S:
        return []
    rows = Annotation.objects.filter(project_id=project_id, time__gte=_at(start_s))
    if end_s <= LAST_S:  # past the last storable second every annotation is before end
        rows = rows.filter(time__lt=_at(end_s))
    return list(rows.order_by("time", "pk"))


def annotation_for(project_id: int, pk: int) -> Annotation | None:
    """The project's annotation ``pk``; None when there is none or it is another project's."""
    return Annotation.objects.filter(project_id=project_id, pk=pk).first()
