"""Every new project starts with the seed tiers and their per-call prices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from monitor.projects.models import Project

from .models import Price, Tier
from .seeds import SEED_TIERS

# Seed prices hold from the epoch, so records of any age find a price.
SEED_PRICES_FROM = datetime(1970, 1, 1, tzinfo=UTC)


@receiver(post_save, sender=Project, dispatch_uid="seed_project_catalogue")
def seed_project_catalogue(sender: type[Project], instance: Project, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    for profile in SEED_TIERS:
        tier = Tier.objects.create(
            project=instance,
            name=profile.name,
            rated_qps=profile.rated_qps,
            context_tokens=profile.context_tokens,
            power_w=profile.power_w,
            ttft_target_low_ms=profile.ttft_low_ms,
            ttft_target_high_ms=profile.ttft_high_ms,
        )
        Price.objects.create(
            project=instance, tier=tier, effective_from=SEED_PRICES_FROM, per_call=profile.price_per_call
        )
