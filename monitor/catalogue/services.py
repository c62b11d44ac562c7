"""Catalogue operations shared by the admin, the commands and the demo set-up."""

from __future__ import annotations

from datetime import date, timedelta

from monitor.projects.models import Project

from .models import ModelVersion, Tier
from .seeds import DEPRECATED_DEMO_MODEL

DEMO_SUNSET_DAYS = 90


def deprecate_demo_model(project: Project) -> ModelVersion:
    """The demo's old 4o version, marked deprecated with a sunset date, so the dashboards
    have a deprecated model still taking calls. Also when ingest registered it first (as active)."""
    sunset = date.today() + timedelta(days=DEMO_SUNSET_DAYS)
    old, _ = ModelVersion.objects.get_or_create(
        project=project,
        name=DEPRECATED_DEMO_MODEL,
        defaults={"tier": Tier.objects.get(project=project, name="4o"), "sunset_date": sunset},
    )
    if old.lifecycle != ModelVersion.Lifecycle.DEPRECATED:
        old.lifecycle = ModelVersion.Lifecycle.DEPRECATED
        old.sunset_date = old.sunset_date or sunset
        old.save()
    return old
