"""Admin for the tier catalogue: tiers, model versions, prices, and the (read-only) series.

Every project has its own ``o3`` / ``4o`` / ``o4-mini``, so tier and model choices
are labelled with their project, and a form refuses a tier or model of another
project than the row's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import ForeignKey
from django.http import HttpRequest

from .models import ModelVersion, Price, Series, Tier

if TYPE_CHECKING:
    _TierAdmin = admin.ModelAdmin[Tier]
    _ScopedAdmin = admin.ModelAdmin[Any]
    _SeriesAdmin = admin.ModelAdmin[Series]
    _ModelVersionForm = forms.ModelForm[ModelVersion]
    _PriceForm = forms.ModelForm[Price]
    _ScopedChoiceField = forms.ModelChoiceField[Tier | ModelVersion]
else:
    _TierAdmin = _ScopedAdmin = _SeriesAdmin = admin.ModelAdmin
    _ModelVersionForm = _PriceForm = forms.ModelForm
    _ScopedChoiceField = forms.ModelChoiceField


class ProjectScopedChoiceField(_ScopedChoiceField):
    """A tier or model choice shown as ``project / name``."""

    def label_from_instance(self, obj: Tier | ModelVersion) -> str:
        return f"{obj.project} / {obj}"


def _scoped_formfield(
    db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
) -> forms.ModelChoiceField[Any] | None:
    if db_field.name not in {"tier", "model"}:
        return None
    model = db_field.remote_field.model
    kwargs.setdefault("queryset", model._default_manager.select_related("project"))
    kwargs.setdefault("required", not db_field.blank)
    return ProjectScopedChoiceField(**kwargs)


def _check_same_project(form: forms.ModelForm[Any], *names: str) -> None:
    project = form.cleaned_data.get("project")
    for name in names:
        related = form.cleaned_data.get(name)
        if project is not None and related is not None and related.project_id != project.pk:
            form.add_error(name, f"This {name} belongs to project {related.project}, not {project}.")


class ScopedForeignKeyAdmin(_ScopedAdmin):
    """Tier and model choices labelled ``project / name`` (every project has its own "o3")."""

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        field = _scoped_formfield(db_field, request, **kwargs)
        if field is not None:
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ModelVersionForm(_ModelVersionForm):
    class Meta:
        model = ModelVersion
        fields = ["project", "tier", "name", "lifecycle", "sunset_date", "created_at"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        _check_same_project(self, "tier")
        return self.cleaned_data


class PriceForm(_PriceForm):
    class Meta:
        model = Price
        fields = ["project", "tier", "model", "effective_from", "per_call", "per_million_input", "per_million_output"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        _check_same_project(self, "tier", "model")
        return self.cleaned_data


@admin.register(Tier)
class TierAdmin(_TierAdmin):
    list_display = [
        "name",
        "project",
        "rated_qps",
        "context_tokens",
        "power_w",
        "ttft_target_low_ms",
        "ttft_target_high_ms",
    ]
    list_filter = ["project"]
    search_fields = ["name", "project__slug"]
    list_select_related = ["project"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ScopedForeignKeyAdmin):
    form = ModelVersionForm
    list_display = ["name", "project", "tier", "lifecycle", "sunset_date", "created_at"]
    # Tiers are filtered by name: every project has its own "o3".
    list_filter = ["lifecycle", ("tier__name", admin.AllValuesFieldListFilter), "project"]
    search_fields = ["name", "tier__name", "project__slug"]
    list_select_related = ["project", "tier"]


@admin.register(Price)
class PriceAdmin(ScopedForeignKeyAdmin):
    form = PriceForm
    list_display = [
        "priced",
        "project",
        "effective_from",
        "per_call",
        "per_million_input",
        "per_million_output",
    ]
    list_filter = ["project", ("tier__name", admin.AllValuesFieldListFilter)]
    search_fields = ["tier__name", "model__name", "project__slug"]
    list_select_related = ["project", "tier", "model"]
    ordering = ["project", "-effective_from"]

    @admin.display(description="tier / model")
    def priced(self, obj: Price) -> str:
        return f"model {obj.model}" if obj.model_id else f"tier {obj.tier}"


@admin.register(Series)
class SeriesAdmin(_SeriesAdmin):
    """Series are registered by ingest on first sight; raw rows refer to them by id."""

    list_display = ["id", "service", "tier", "model", "deployment", "project", "created_at"]
    list_filter = ["project", ("tier__name", admin.AllValuesFieldListFilter), "deployment"]
    search_fields = ["service", "deployment", "tier__name", "model__name", "project__slug"]
    list_select_related = ["project", "tier", "model"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Series | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Series | None = None) -> bool:
        # Raw rows and rollups hold series ids without a foreign key.
        return False
