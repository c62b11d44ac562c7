"""The rules for an annotation's fields, shared by the API (and any form that records one).

Every problem is a ``(field, message)`` pair; ``parse_annotation`` reports all of them
at once, so a client fixes its body in one round.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.api.params import ParamError, parse_time
from monitor.catalogue.names import name_problem
from monitor.metrics.query import DIMENSIONS
from monitor.timeutil import FIRST_S, LAST_S

from .models import MAX_TEXT_LENGTH

FIELDS = ("time", "text", "filter")
MAX_NAME_LENGTH = 100
MAX_FILTER_VALUES = 100
# Newlines and tabs are fine in a note; other control characters are not.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

TIME_RULE = "must be Unix seconds (a JSON number) or an RFC 3339 string with an offset, between the years 1 and 9999"
TEXT_RULE = f"must be a string of 1 to {MAX_TEXT_LENGTH} characters, not blank"
FILTER_RULE = (
    f"must be an object whose keys are dimensions ({', '.join(DIMENSIONS)}) and whose values are a string "
    f"or a list of 1 to {MAX_FILTER_VALUES} strings"
)

Problem = tuple[str | None, str]


@dataclass(frozen=True)
class AnnotationInput:
    time_s: int
    text: str
    filter: dict[str, list[str]]


class AnnotationRejected(ValueError):
    """One or more bad fields; each problem names its field (None for the body as a whole)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{field or 'body'}: {message}" for field, message in problems))
        self.problems = problems


def parse_time_value(value: object) -> tuple[int | None, str | None]:
    """Whole Unix seconds (⌊t⌋) of a request time, or the problem with it."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, TIME_RULE
    if isinstance(value, str):
        try:
            seconds: float = parse_time("time", value)
        except ParamError:
            return None, TIME_RULE
    else:
        seconds = value
    if isinstance(seconds, float) and not math.isfinite(seconds):
        return None, TIME_RULE
    whole = math.floor(seconds)
    if not FIRST_S <= whole <= LAST_S:
        return None, TIME_RULE
    return whole, None


def _text_problem(value: object) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT_LENGTH:
        return TEXT_RULE
    if not value.strip():
        return "must not be blank"
    if _CONTROL_CHARS.search(value):
        return "must not contain control characters other than newlines and tabs"
    return None


def _value_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string or a list of strings"
    if not 1 <= len(value) <= MAX_NAME_LENGTH:
        return f"must be strings of 1 to {MAX_NAME_LENGTH} characters"
    return name_problem(value)


def normalise_filter(value: object) -> tuple[dict[str, list[str]], list[Problem]]:
    """``{"tier": "o3"}`` → ``{"tier": ["o3"]}``: keys in DIMENSIONS order, values de-duplicated in order."""
    if value is None:
        return {}, []
    if not isinstance(value, Mapping):
        return {}, [("filter", FILTER_RULE)]
    problems: list[Problem] = []
    for key in value:
        if key not in DIMENSIONS:
            problems.append((f"filter.{key}", f"is not a dimension; use {', '.join(DIMENSIONS)}"))
    result: dict[str, list[str]] = {}
    for name in DIMENSIONS:
        if name not in value:
            continue
        raw = value[name]
        items: list[Any] = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else [raw]
        if not items or len(items) > MAX_FILTER_VALUES:
            problems.append((f"filter.{name}", f"must list 1 to {MAX_FILTER_VALUES} values"))
            continue
        bad = next((message for message in map(_value_problem, items) if message), None)
        if bad:
            problems.append((f"filter.{name}", bad))
            continue
        result[name] = list(dict.fromkeys(items))
    return result, problems


def parse_annotation(body: object) -> AnnotationInput:
    """A new annotation from a decoded JSON body, or ``AnnotationRejected``.

    ``null`` means absent, as in the ingest contract.
    """
    if not isinstance(body, Mapping):
        raise AnnotationRejected([(None, 'the body must be a JSON object such as {"time": …, "text": "…"}')])
    problems: list[Problem] = [(str(key), "is not a field of an annotation") for key in body if key not in FIELDS]

    time_s: int | None = None
    if body.get("time") is None:
        problems.append(("time", "is required"))
    else:
        time_s, message = parse_time_value(body["time"])
        if message:
            problems.append(("time", message))

    text = body.get("text")
    if text is None:
        problems.append(("text", "is required"))
    else:
        message = _text_problem(text)
        if message:
            problems.append(("text", message))

    filters, filter_problems = normalise_filter(body.get("filter"))
    problems += filter_problems

    if problems:
        raise AnnotationRejected(problems)
    assert time_s is not None and isinstance(text, str)
    return AnnotationInput(time_s=time_s, text=text, filter=filters)
