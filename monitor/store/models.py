"""The raw store: ingest batches (the rollup outbox) and the partitioned raw records.

``raw_records`` itself is created by SQL in the migrations (Django has no
partitioned tables); see ``raw.py`` for its columns and ``partitions.py`` for
its daily partitions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from monitor.projects.models import Project

# A batch is live when its oldest record finished at most this long before it arrived.
LIVE_WINDOW_S = 300


class IngestBatch(models.Model):
    """One accepted ``POST /api/v1/records``: written in the same transaction as its rows.

    It is the unit of idempotency (``idempotency_key``) and of rollup work: a batch
    whose ``rolled_up_at`` is empty still has to be counted.
    """

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    received_at = models.DateTimeField(default=timezone.now)
    records = models.PositiveIntegerField(help_text="Records in the batch (what the 202 reported).")
    calls = models.BigIntegerField(help_text="Calls the records stand for (a window summary counts `count`).")
    min_ts_us = models.BigIntegerField(help_text="Earliest record time, Unix microseconds.")
    max_ts_us = models.BigIntegerField(help_text="Latest record time, Unix microseconds.")
    # NULL, not "": a batch without a key must not collide with other keyless batches.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    # Every record within LIVE_WINDOW_S of its arrival: claimed before history (a backfill),
    # so live figures stay fresh whatever else is being imported.
    live = models.BooleanField(default=True)
    rolled_up_at = models.DateTimeField(null=True, blank=True)
    # Set when rolling the batch up failed on its data (a database DataError): the batch
    # is set aside, so it cannot stop every other batch from being counted.
    rollup_error = models.TextField(null=True, blank=True)  # noqa: DJ001 - NULL: no error

    class Meta:
        verbose_name_plural = "ingest batches"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="idempotency_key_per_project",
            )
        ]
        indexes = [models.Index(fields=["received_at"], name="batch_received_at")]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.records} records)"
