"""An annotation's body: the rules for its fields, and how the API answers it.

Every problem is reported at once (a client fixes its body in one round), each naming
its field: ``time``, ``text``, ``filter``, ``filter.<key>``, an unknown field's own name,
or none for a body that is not a JSON object. ``null`` means absent, as in the ingest
contract. The dashboards' form records annotations through the same serializer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings

from monitor.api.fields import REQUIRED, DimensionFilterField, RequestTimeField
from monitor.catalogue.names import SURROGATE_PROBLEM, surrogate_in

from .models import MAX_TEXT_LENGTH, Annotation

TEXT_RULE = f"must be a string of 1 to {MAX_TEXT_LENGTH} characters, not blank"
BODY_RULE = 'the body must be a JSON object such as {"time": …, "text": "…"}'
# Newlines and tabs are fine in a note; other control characters are not.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text_problem(value: object) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT_LENGTH:
        return TEXT_RULE
    if not value.strip():
        return "must not be blank"
    if _CONTROL_CHARS.search(value):
        return "must not contain control characters other than newlines and tabs"
    if surrogate_in(value):
        return SURROGATE_PROBLEM
    return None


class NoteTextField(serializers.Field):  # type: ignore[type-arg]
    default_error_messages = {"required": REQUIRED}

    def to_internal_value(self, data: Any) -> str:
        problem = text_problem(data)
        if problem:
            raise serializers.ValidationError(problem)
        assert isinstance(data, str)
        return data

    def to_representation(self, value: str) -> str:
        return value


class AnnotationSerializer(serializers.Serializer[Annotation]):
    """``{"time", "text", "filter"}`` in; ``{"id", "time", "text", "filter"}`` out.

    Its OpenAPI description is written out in ``openapi.py``, from the same rules.
    """

    id = serializers.IntegerField(read_only=True)
    time = RequestTimeField()
    text = NoteTextField()
    filter = DimensionFilterField(required=False)

    def run_validation(self, data: Any = serializers.empty) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [BODY_RULE]})
        writable = {name for name, field in self.fields.items() if not field.read_only}
        errors: dict[str, Any] = {str(key): ["is not a field of an annotation"] for key in data if key not in writable}
        try:
            validated: dict[str, Any] = super().run_validation({k: v for k, v in data.items() if v is not None})
        except serializers.ValidationError as exc:
            assert isinstance(exc.detail, dict)
            errors.update(exc.detail)
        if errors:
            raise serializers.ValidationError(errors)
        validated.setdefault("filter", {})
        return validated

    def create(self, validated_data: dict[str, Any]) -> Annotation:
        return Annotation.objects.create(**validated_data)
