"""Bad input is a 4xx with the contract's JSON body naming the field, never a 5xx or an HTML page.

Each case here once crashed an endpoint or answered outside the contract: NUL bytes that
PostgreSQL cannot hold, lone surrogates that UTF-8 cannot encode, numbers too large for a
bigint, ids that are not numbers.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from monitor.annotations.models import Annotation
from monitor.projects.models import Project
from tests.conftest import issue_key, post_records

ANNOTATIONS = "/api/v1/annotations"
READ_PATHS = ["/api/v1/metrics", "/api/v1/report", ANNOTATIONS]
NOW = int(time.time())


@pytest.fixture
def client() -> Client:
    # A 5xx must come back as an answer the test can inspect, not as a raised exception.
    return Client(raise_request_exception=False)


@pytest.fixture
def admin_key(project: Project) -> str:
    return issue_key(project, "admin")


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    assert set(body) == {"error", "details"}, body
    assert isinstance(body["error"], str) and body["error"], body
    if field is not None:
        assert field in [item["field"] for item in body["details"]], body
    return body


def post_annotation(client: Client, key: str, raw: str) -> Any:
    return client.post(ANNOTATIONS, data=raw, content_type="application/json", headers=_auth(key))


# --- query parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", READ_PATHS)
def test_it_answers_a_project_slug_with_a_nul_byte_with_a_404_naming_project(client, admin_key, path):
    assert_error(client.get(f"{path}?project=a%00b", headers=_auth(admin_key)), 404, "project")


@pytest.mark.parametrize("path", READ_PATHS)
def test_it_answers_a_session_users_slug_with_a_nul_byte_with_a_404(client, owner, project, path):
    client.force_login(owner)
    assert_error(client.get(f"{path}?project=%00"), 404, "project")


@pytest.mark.parametrize("path", ["/api/v1/metrics", "/api/v1/report"])
@pytest.mark.parametrize("name", ["tier", "model", "service", "deployment"])
def test_it_rejects_a_filter_value_with_a_nul_byte_naming_the_filter(client, admin_key, path, name):
    assert_error(client.get(f"{path}?{name}=o3&{name}=a%00b", headers=_auth(admin_key)), 400, name)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("step=100000000000000000000", "step"),
        ("step=9223372036854775808", "step"),
        ("step=-9223372036854775809", "step"),
    ],
)
def test_it_rejects_a_step_beyond_a_bigint_naming_it(client, admin_key, query, field):
    assert_error(client.get(f"/api/v1/metrics?{query}", headers=_auth(admin_key)), 400, field)


def test_it_rejects_a_stability_interval_too_large_to_store_naming_it(client, admin_key):
    query = f"stability_interval={60 * 10**18}"  # a multiple of 60, past 2**63
    assert_error(client.get(f"/api/v1/report?{query}", headers=_auth(admin_key)), 400, "stability_interval")


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize(
    ("query", "field"),
    [("from=1e300", "from"), ("from=-1e300", "from"), ("to=-1e300", "from"), ("from=1e300&to=1e301", "from")],
)
def test_it_rejects_a_time_parameter_far_out_of_range_naming_it(client, admin_key, path, query, field):
    assert_error(client.get(f"{path}?{query}", headers=_auth(admin_key)), 400, field)


def test_it_lists_no_annotations_for_a_window_past_the_year_9999(client, admin_key):
    response = client.get(f"{ANNOTATIONS}?to=1e300", headers=_auth(admin_key))
    assert response.status_code == 200, response.content
    assert response.json() == {"annotations": []}


# --- JSON bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (f'{{"time": {NOW}, "text": "\\udcff"}}', "text"),
        (f'{{"time": {NOW}, "text": "ok \\ud800 ok"}}', "text"),
        (f'{{"time": {NOW}, "text": "x", "filter": {{"tier": "\\udcff"}}}}', "filter.tier"),
        (f'{{"time": {NOW}, "text": "x", "filter": {{"tier": ["o3", "\\udfff"]}}}}', "filter.tier"),
        (f'{{"time": {NOW}, "text": "x", "filter": {{"\\udcff": "o3"}}}}', "filter.\\udcff"),
        (f'{{"time": {NOW}, "text": "x", "\\udcff": 1}}', "\\udcff"),
        ('{"time": "\\udcff", "text": "x"}', "time"),
    ],
)
def test_it_rejects_a_lone_surrogate_in_an_annotation_naming_the_field(client, admin_key, raw, field):
    assert_error(post_annotation(client, admin_key, raw), 400, field)
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("value", ["1e300", "-1e300", "1e999", "-1e999", "1" + "0" * 40, "253402300800"])
def test_it_rejects_an_annotation_time_out_of_range_naming_time(client, admin_key, value):
    assert_error(post_annotation(client, admin_key, f'{{"time": {value}, "text": "x"}}'), 400, "time")


def test_it_rejects_a_json_integer_with_too_many_digits_as_bad_json(client, admin_key):
    assert_error(post_annotation(client, admin_key, '{"time": ' + "9" * 5000 + ', "text": "x"}'), 400)


def test_it_refuses_an_annotation_body_that_is_not_json_with_a_415(client, admin_key):
    response = client.post(ANNOTATIONS, data={"time": str(NOW), "text": "x"}, headers=_auth(admin_key))
    assert_error(response, 415)
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"service": "\udcff"}, "service"),
        ({"tier": "o3\ud800"}, "tier"),
        ({"model": "\udfff"}, "model"),
        ({"deployment": "edge\udcff"}, "deployment"),
        ({"error_type": "\udcff", "status": "error"}, "error_type"),
    ],
)
def test_it_rejects_a_record_with_a_lone_surrogate_naming_the_field(client, ingest_key, record, field):
    body = {"ts": time.time() - 1, "service": "s", "tier": "4o", "latency_ms": 1.0, **record}
    # ensure_ascii writes the surrogate as the \\udcff escape a client's JSON would hold.
    response = post_records(client, ingest_key, body=json.dumps({"records": [body]}).encode())
    answer = assert_error(response, 400, field)
    assert answer["details"][0]["index"] == 0, answer


def test_it_names_an_unknown_batch_field_with_a_lone_surrogate_without_crashing(client, ingest_key):
    response = post_records(client, ingest_key, body=b'{"records": [], "\\udcff": 1}')
    assert_error(response, 400, "\\udcff")


# --- paths, methods and headers -----------------------------------------------------------------------


@pytest.mark.parametrize("pk", ["abc", "0", "-1", "1.5", "99999999999999999999", "٣", "%00"])
def test_it_answers_an_annotation_id_that_is_not_one_with_a_json_404_naming_id(client, admin_key, pk):
    assert_error(client.delete(f"{ANNOTATIONS}/{pk}", headers=_auth(admin_key)), 404, "id")


def test_it_answers_a_path_under_the_api_that_matches_nothing_with_a_json_404(client, db):
    assert_error(client.get("/api/v1/nothing-here"), 404)
    assert_error(client.delete(f"{ANNOTATIONS}/a%2Fb"), 404)


@pytest.mark.parametrize(
    ("url", "headers", "status"),
    [
        ("/api/schema/?format=nonsense", {}, 404),
        ("/api/schema/", {"Accept": "application/xml"}, 406),
        ("/api/v1/metrics", {"Accept": "text/html"}, 406),
    ],
)
def test_the_schema_and_the_api_answer_what_they_cannot_render_in_json(client, db, url, headers, status):
    body = assert_error(client.get(url, headers=headers), status)
    assert body["error"] not in {"", "."}, body


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_health_probe_answers_another_method_with_a_json_405(client, db, path):
    assert_error(client.post(path), 405)


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/records"), ("GET", "/api/v1/metrics")])
def test_it_answers_a_key_with_a_nul_byte_with_a_401(client, project, method, path):
    headers = {"Authorization": "Bearer tw_\x00bcdefghSECRETSECRETSECRETSECRET"}
    assert_error(client.generic(method, path, b"{}", content_type="application/json", headers=headers), 401)
