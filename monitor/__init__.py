"""Tierwatch: performance and SLO monitoring for LLM inference services, per model tier."""

from .celery import app as celery_app

__all__ = ["celery_app"]
