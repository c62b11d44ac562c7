"""What the dashboards read: one project's annotations in a window, or one by id."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.annotations.models import Annotation
from monitor.annotations.queries import annotation_for, annotations_in

T0 = 1_700_000_000


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_annotations_in_returns_the_window_oldest_first_with_the_end_excluded(project, other_project):
    later = Annotation.objects.create(project=project, time=_at(T0 + 50), text="later")
    first = Annotation.objects.create(project=project, time=_at(T0), text="first")
    Annotation.objects.create(project=project, time=_at(T0 + 100), text="at the end")
    Annotation.objects.create(project=project, time=_at(T0 - 1), text="before")
    Annotation.objects.create(project=other_project, time=_at(T0 + 10), text="globex")
    assert annotations_in(project.pk, T0, T0 + 100) == [first, later]


def test_annotations_in_an_empty_or_reversed_window_is_empty(project):
    Annotation.objects.create(project=project, time=_at(T0), text="x")
    assert annotations_in(project.pk, T0, T0) == []
    assert annotations_in(project.pk, T0 + 1, T0) == []


def test_annotations_in_accepts_windows_beyond_what_a_date_can_hold(project):
    note = Annotation.objects.create(project=project, time=_at(T0), text="x")
    assert annotations_in(project.pk, -(10**12), 10**12) == [note]
    assert annotations_in(project.pk, 10**12, 10**12 + 1) == []


def test_annotation_for_finds_only_the_projects_own(project, other_project):
    mine = Annotation.objects.create(project=project, time=_at(T0), text="mine")
    assert annotation_for(project.pk, mine.pk) == mine
    assert annotation_for(other_project.pk, mine.pk) is None
    assert annotation_for(project.pk, mine.pk + 1000) is None


def test_deleting_a_project_deletes_its_annotations(project):
    Annotation.objects.create(project=project, time=_at(T0), text="x")
    project.delete()
    assert not Annotation.objects.exists()
