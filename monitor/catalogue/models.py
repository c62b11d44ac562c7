"""What a project monitors: tiers, model versions, prices, and the series dictionary."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from monitor.projects.models import Project

from .names import MAX_NAME_LENGTH


class Tier(models.Model):
    """A model tier (``o3``, ``4o``, ``o4-mini``…) with its rated profile."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=MAX_NAME_LENGTH)
    rated_qps = models.FloatField(null=True, blank=True, help_text="Calls per second the tier is sized for.")
    context_tokens = models.PositiveIntegerField(null=True, blank=True)
    power_w = models.FloatField(null=True, blank=True, help_text="Typical power draw (catalogue figure).")
    ttft_target_low_ms = models.FloatField(null=True, blank=True)
    ttft_target_high_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="tier_name_per_project")]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    class Lifecycle(models.TextChoices):
        ACTIVE = "active"
        DEPRECATED = "deprecated"
        RETIRED = "retired"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="model_versions")
    name = models.CharField(max_length=MAX_NAME_LENGTH)
    lifecycle = models.CharField(max_length=12, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    sunset_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="model_name_per_project")]

    def __str__(self) -> str:
        return self.name


class Price(models.Model):
    """A price in effect from ``effective_from`` until the next one for the same model or tier.

    A model's price wins over its tier's. Amounts are exact decimals in the
    project's currency.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prices")
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, null=True, blank=True, related_name="prices")
    model = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="prices")
    effective_from = models.DateTimeField()
    per_call = models.DecimalField(max_digits=18, decimal_places=9, default=0)
    per_million_input = models.DecimalField(max_digits=18, decimal_places=9, default=0)
    per_million_output = models.DecimalField(max_digits=18, decimal_places=9, default=0)

    class Meta:
        ordering = ["project", "effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tier__isnull=False, model__isnull=True) | Q(tier__isnull=True, model__isnull=False),
                name="price_for_tier_xor_model",
            ),
            models.CheckConstraint(
                condition=Q(per_call__gte=0) & Q(per_million_input__gte=0) & Q(per_million_output__gte=0),
                name="price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model or self.tier} from {self.effective_from:%Y-%m-%d}"


class Series(models.Model):
    """One service × tier × model × deployment of a project: the key of every raw row."""

    id = models.AutoField(primary_key=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="series")
    service = models.CharField(max_length=MAX_NAME_LENGTH)
    # RESTRICT: raw rows and rollups refer to series by id, so a tier or model that
    # has taken calls cannot be deleted from under them (deleting the project still can).
    tier = models.ForeignKey(Tier, on_delete=models.RESTRICT, related_name="series")
    model = models.ForeignKey(ModelVersion, on_delete=models.RESTRICT, related_name="series")
    deployment = models.CharField(max_length=MAX_NAME_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "service", "tier", "model", "deployment"], name="series_dimensions_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} / {self.tier} / {self.model} / {self.deployment}"
