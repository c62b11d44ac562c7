"""Annotations: what an operator changed and when ("INT8 quantisation on"), drawn on every chart."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from monitor.projects.models import Project

MAX_TEXT_LENGTH = 500


class Annotation(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    time = models.DateTimeField(help_text="When the change happened (whole seconds, UTC).")
    text = models.CharField(max_length=MAX_TEXT_LENGTH)
    filter = models.JSONField(
        default=dict,
        blank=True,
        help_text='What the change applies to: dimension → list of values, e.g. {"tier": ["o3"]}; {} = everything.',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="annotations_made",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["time", "pk"]
        indexes = [models.Index(fields=["project", "time"], name="annotation_project_time")]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.text[:60]}"
