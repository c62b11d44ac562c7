"""Serializer fields that the API's request bodies share: a time, and a filter over the dimensions.

Each field's messages are predicates ("must be …", "is required") that the exception
handler puts after the field's name: ``time must be Unix seconds …``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rest_framework import serializers

from monitor.catalogue.names import MAX_NAME_LENGTH, name_problem
from monitor.metrics.query import DIMENSIONS
from monitor.timeutil import FIRST_S, LAST_S, US_PER_S, from_us, parse_time, rfc3339, to_us

REQUIRED = "is required"
MAX_FILTER_VALUES = 100

TIME_RULE = "must be Unix seconds (a JSON number) or an RFC 3339 string with an offset, between the years 1 and 9999"
FILTER_RULE = (
    f"must be an object whose keys are dimensions ({', '.join(DIMENSIONS)}) and whose values are a string "
    f"or a list of 1 to {MAX_FILTER_VALUES} strings"
)


def whole_seconds(value: object) -> int | None:
    """⌊t⌋ of a request time (a JSON number, or a string of Unix seconds or RFC 3339), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str):
        try:
            value = parse_time(value)
        except ValueError:
            return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    whole = math.floor(value)
    return whole if FIRST_S <= whole <= LAST_S else None


class RequestTimeField(serializers.Field):  # type: ignore[type-arg]
    """A request time kept to the whole second, as an aware datetime; answered in RFC 3339 UTC."""

    default_error_messages = {"required": REQUIRED, "invalid": TIME_RULE}

    def to_internal_value(self, data: Any) -> datetime:
        seconds = whole_seconds(data)
        if seconds is None:
            self.fail("invalid")
        return from_us(seconds * US_PER_S)

    def to_representation(self, value: datetime) -> str:
        return rfc3339(to_us(value) // US_PER_S)


def _values_problem(values: list[Any]) -> str | None:
    if not values or len(values) > MAX_FILTER_VALUES:
        return f"must list 1 to {MAX_FILTER_VALUES} values"
    for value in values:
        if not isinstance(value, str):
            return "must be a string or a list of strings"
        if not 1 <= len(value) <= MAX_NAME_LENGTH:
            return f"must be strings of 1 to {MAX_NAME_LENGTH} characters"
        problem = name_problem(value)
        if problem:
            return problem
    return None


class DimensionFilterField(serializers.Field):  # type: ignore[type-arg]
    """What something applies to: ``{"tier": "o3"}`` → ``{"tier": ["o3"]}``; ``{}`` = the whole project.

    Keys come out in DIMENSIONS order, values de-duplicated in their order. Each bad key is
    its own problem, named ``<field>.<key>``.
    """

    default_error_messages = {"required": REQUIRED, "invalid": FILTER_RULE}

    def to_internal_value(self, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, Mapping):
            self.fail("invalid")
        problems = {
            str(key): f"is not a dimension; use {', '.join(DIMENSIONS)}" for key in data if key not in DIMENSIONS
        }
        result: dict[str, list[str]] = {}
        for name in DIMENSIONS:
            if name not in data:
                continue
            raw = data[name]
            values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else [raw]
            problem = _values_problem(values)
            if problem:
                problems[name] = problem
            else:
                result[name] = list(dict.fromkeys(values))
        if problems:
            raise serializers.ValidationError(problems)
        return result

    def to_representation(self, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return value
