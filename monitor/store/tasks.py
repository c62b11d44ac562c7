"""Periodic upkeep of the raw store (run by beat, see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import IngestBatch
from .partitions import drop_expired_partitions, ensure_current_partitions

log = logging.getLogger(__name__)


def expire_idempotency_keys() -> int:
    """Keys are kept for the raw retention; after that a resend counts again."""
    cutoff = timezone.now() - timedelta(days=settings.RAW_RETENTION_DAYS)
    return IngestBatch.objects.filter(received_at__lt=cutoff, idempotency_key__isnull=False).update(
        idempotency_key=None
    )


@shared_task
def maintain_raw_store() -> dict[str, object]:
    created = ensure_current_partitions()
    dropped = drop_expired_partitions()
    expired = expire_idempotency_keys()
    if created or dropped or expired:
        log.info("raw store: created %s, dropped %s, expired %d idempotency keys", created, dropped, expired)
    return {"created": created, "dropped": dropped, "expired_keys": expired}
