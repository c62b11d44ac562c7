"""What a name in the catalogue may be: a service, tier, model, deployment or error type.

One set of rules for everything that names a series: ingest's record fields, the
filters of annotations (and of the read API, where only NUL cannot even be compared).
Plain Python, so the ingest hot path and the msgspec schema can use it.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 100
NAME_RULE = f"must be a string of 1 to {MAX_NAME_LENGTH} characters, not blank, without control characters"

NUL = "\x00"
NUL_PROBLEM = "must not contain NUL characters"
CONTROL_PROBLEM = "must not contain control characters"
# JSON's "\udcff" escape decodes to a lone surrogate, which no UTF-8 text (nor PostgreSQL) can hold.
SURROGATE_PROBLEM = "must not contain lone surrogates (U+D800 to U+DFFF)"
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# Control characters and surrogates in one pass: the common, clean name costs one search.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def surrogate_in(value: str) -> bool:
    return _SURROGATES.search(value) is not None


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a name (its length is checked where it is decoded), or None."""
    if not value.strip():
        return "must not be blank"
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    return SURROGATE_PROBLEM if surrogate_in(found.group()) else CONTROL_PROBLEM
