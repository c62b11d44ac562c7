"""Admin for annotations: listed per project, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from .models import Annotation

if TYPE_CHECKING:
    _AnnotationAdmin = admin.ModelAdmin[Annotation]
else:
    _AnnotationAdmin = admin.ModelAdmin


@admin.register(Annotation)
class AnnotationAdmin(_AnnotationAdmin):
    list_display = ["time", "project", "text", "filter", "created_by", "created_at"]
    list_filter = ["project"]
    search_fields = ["text", "project__slug"]
    list_select_related = ["project", "created_by"]
    date_hierarchy = "time"
    ordering = ["-time", "-pk"]
    readonly_fields = ["created_by", "created_at"]
