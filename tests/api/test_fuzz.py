"""Schemathesis over the app's own OpenAPI document: no input is a 5xx, and every 4xx is the contract's body.

Every operation of /api/schema/ gets its documented examples, schemathesis' coverage cases
(boundaries, wrong types, missing and extra parts) and generated requests that fit or break
the schema, sent in-process through the WSGI app with real keys: every request runs in the
test's database transaction. Generation is derandomized, so each run sends the same cases.
A failure names the operation and the request (as a curl command) that caused it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from monitor.projects.models import Project
from monitor.wsgi import application
from tests.conftest import issue_key

MIN_CASES = 300
SENT: Counter[str] = Counter()


def error_body_is_the_contracts(ctx: Any, response: schemathesis.Response, case: Any) -> bool | None:
    """A 4xx answers ``{"error": "<sentence>", "details": [{...}]}`` in JSON, nothing else."""
    if not 400 <= response.status_code < 500:
        return None
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), response.headers
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) == {"error", "details"}, body
    assert isinstance(body["error"], str) and body["error"].strip(), body
    assert isinstance(body["details"], list) and all(isinstance(item, dict) for item in body["details"]), body
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    error_body_is_the_contracts,
]


@pytest.fixture(autouse=True)
def in_process_requests() -> Iterator[None]:
    # As Django's test client does: a request must not close the test's connection (and its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def keys(project: Project) -> dict[str, str]:
    return {"ingest": issue_key(project, "ingest"), "admin": issue_key(project, "admin")}


@pytest.fixture(scope="module", autouse=True)
def _enough_cases() -> Iterator[None]:
    """The whole run (every operation, not a -k selection) sends at least MIN_CASES requests."""
    SENT.clear()
    yield
    if len(SENT) == len(list(schema.get_all_operations())):
        assert sum(SENT.values()) >= MIN_CASES, SENT


# Loaded while the tests are collected: drafting the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failing case is reported as it was
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error_or_a_foreign_error_body(case: Any, keys: dict[str, str]) -> None:
    key = keys["ingest"] if case.operation.path == "/api/v1/records" else keys["admin"]
    SENT[case.operation.label] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
