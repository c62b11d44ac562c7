"""The OpenAPI document and Swagger UI, the health endpoints, and the log-in wall in front of the web UI."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema

from monitor.ingest.schema import MAX_RECORDS, RECORD_FIELDS
from tests.conftest import resolve_ref

RECORDS = "/api/v1/records"
INGEST_STATUSES = {"200", "202", "400", "401", "403", "413", "415", "429", "503"}


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


@pytest.fixture
def openapi(client: Client, db: Any) -> dict[str, Any]:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200, response.content
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture
def ingest_operation(openapi: dict[str, Any]) -> dict[str, Any]:
    assert RECORDS in openapi["paths"], sorted(openapi["paths"])
    operation: dict[str, Any] = openapi["paths"][RECORDS]["post"]
    return operation


def _record_schema(openapi: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    body = resolve_ref(openapi, operation["requestBody"]["content"]["application/json"]["schema"])
    records = resolve_ref(openapi, body["properties"]["records"])
    return resolve_ref(openapi, records["items"])


# --- the OpenAPI document ---------------------------------------------------------------


def test_the_schema_is_a_valid_openapi_3_document(openapi):
    assert openapi["openapi"].startswith("3.")
    validate_schema(openapi)  # type: ignore[no-untyped-call]  # raises on any violation of the OpenAPI 3.0 meta-schema


def test_the_schema_is_served_as_json_when_asked_by_accept_header(client, db):
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert RECORDS in response.json()["paths"]


def test_the_ingest_body_is_marked_required(ingest_operation):
    # OpenAPI's default is false: without it, generated clients may post no body at all (a 400).
    assert ingest_operation["requestBody"].get("required") is True


def test_the_ingest_body_is_a_records_array_of_1_to_10000(openapi, ingest_operation):
    body = resolve_ref(openapi, ingest_operation["requestBody"]["content"]["application/json"]["schema"])
    assert body["type"] == "object"
    assert body["required"] == ["records"]
    assert body["additionalProperties"] is False
    records = resolve_ref(openapi, body["properties"]["records"])
    assert records["type"] == "array"
    assert (records["minItems"], records["maxItems"]) == (1, 10_000) == (1, MAX_RECORDS)


def test_the_record_schema_names_every_field_and_rejects_others(openapi, ingest_operation):
    item = _record_schema(openapi, ingest_operation)
    assert item["type"] == "object"
    assert set(item["required"]) == {"ts", "service", "tier", "latency_ms"}
    assert set(item["properties"]) == set(RECORD_FIELDS)
    assert item["additionalProperties"] is False


def test_the_record_schema_states_the_field_rules(openapi, ingest_operation):
    props = _record_schema(openapi, ingest_operation)["properties"]
    for name in ("service", "tier", "model", "deployment", "error_type"):
        assert (props[name]["type"], props[name]["minLength"], props[name]["maxLength"]) == ("string", 1, 100)
    for name in ("latency_ms", "ttft_ms", "energy_wh", "cost"):
        assert props[name]["type"] == "number" and props[name]["minimum"] == 0, name
    for name in ("tokens_in", "tokens_out", "reasoning_tokens", "errors", "cache_hits"):
        assert props[name]["type"] == "integer" and props[name]["minimum"] == 0, name
    for name in ("count", "window_s"):
        assert props[name]["type"] == "integer" and props[name]["minimum"] == 1, name
    assert props["status"]["enum"] == ["ok", "error"]
    assert props["cache_hit"]["type"] == "boolean"
    assert {"number", "string"} <= {alt["type"] for alt in props["ts"]["oneOf"]}
    # null means absent for the optional fields, never for the required ones.
    assert all(props[name]["nullable"] for name in RECORD_FIELDS if name not in {"ts", "service", "tier", "latency_ms"})
    assert not any(props[name].get("nullable") for name in ("ts", "service", "tier", "latency_ms"))


def test_every_ingest_answer_is_documented(openapi, ingest_operation):
    responses = ingest_operation["responses"]
    assert set(responses) == INGEST_STATUSES
    assert all(responses[code].get("description") for code in responses)
    accepted = resolve_ref(openapi, responses["202"]["content"]["application/json"]["schema"])
    assert accepted["required"] == ["accepted"]
    duplicate = resolve_ref(openapi, responses["200"]["content"]["application/json"]["schema"])
    assert set(duplicate["required"]) == {"accepted", "duplicate"}
    for code in INGEST_STATUSES - {"200", "202"}:
        error = resolve_ref(openapi, responses[code]["content"]["application/json"]["schema"])
        assert set(error["required"]) == {"error", "details"}, code


def test_retry_after_is_documented_for_429_and_503(ingest_operation):
    responses = ingest_operation["responses"]
    for code in ("429", "503"):
        header = responses[code]["headers"]["Retry-After"]
        assert header["schema"]["type"] == "integer", code
    assert "Retry-After" not in responses["202"].get("headers", {})


def test_the_idempotency_key_header_is_documented(ingest_operation):
    headers = {p["name"]: p for p in ingest_operation["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    assert headers["Idempotency-Key"]["schema"]["type"] == "string"
    assert not headers["Idempotency-Key"].get("required", False)


def test_ingest_is_secured_by_a_bearer_scheme(openapi, ingest_operation):
    schemes = openapi["components"]["securitySchemes"]
    bearer = [name for name, s in schemes.items() if s["type"] == "http" and s["scheme"] == "bearer"]
    assert bearer, schemes
    assert ingest_operation["security"] == [{name: []} for name in bearer]


# --- Swagger UI, served locally ---------------------------------------------------------


def _external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme in {"http", "https"} or parts.netloc)


def _assets(html: str) -> list[str]:
    urls = []
    for tag, attrs in _tags(html):
        for attr in ("src", "href"):
            value = attrs.get(attr)
            if value and tag in {"script", "link", "img", "iframe", "source"}:
                urls.append(value)
    return urls


def test_swagger_ui_loads_only_local_scripts_and_styles(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = _assets(html)
    scripts = [a.get("src") for t, a in _tags(html) if t == "script" and a.get("src")]
    styles = [a.get("href") for t, a in _tags(html) if t == "link" and a.get("rel") == "stylesheet"]
    assert scripts and styles, html
    assert [url for url in assets if _external(url)] == []


def test_every_asset_swagger_ui_references_is_served(client, db):
    html = client.get("/api/docs/").content.decode()
    assets = _assets(html)
    assert len(assets) >= 3
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, url


def test_swagger_ui_points_at_the_local_schema(client, db):
    html = client.get("/api/docs/").content.decode()
    assert '"/api/schema/"' in html or "'/api/schema/'" in html


# --- health -----------------------------------------------------------------------------


def test_healthz_answers_200(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_200_when_database_and_broker_are_reachable(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checks"] == {"database": True, "broker": True}
    assert body["status"] == "ready"


def test_readyz_answers_503_with_retry_after_when_the_broker_is_unreachable(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["checks"] == {"database": True, "broker": False}


def test_health_endpoints_need_no_log_in(client, db):
    for url in ("/healthz", "/readyz"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Location" not in response


# --- the web UI behind the log-in form ---------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_log_in_form(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_the_log_in_form_has_username_and_password_fields(client, db):
    response = client.get("/login/?next=/")
    assert response.status_code == 200
    inputs = {attrs.get("name"): attrs for tag, attrs in _tags(response.content.decode()) if tag == "input"}
    assert "username" in inputs and "password" in inputs
    assert inputs["password"].get("type") == "password"
    assert inputs["next"].get("value") == "/"
    forms = [attrs for tag, attrs in _tags(response.content.decode()) if tag == "form"]
    assert [(form.get("method") or "").lower() for form in forms] == ["post"]


def _project_cells(html: str) -> list[str]:
    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.in_body = False
            self.first_cell = False
            self.seen_cell_in_row = False
            self.cells: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tbody":
                self.in_body = True
            elif tag == "tr":
                self.seen_cell_in_row = False
            elif tag == "td" and self.in_body and not self.seen_cell_in_row:
                self.first_cell = self.seen_cell_in_row = True
                self.cells.append("")

        def handle_endtag(self, tag: str) -> None:
            if tag == "td":
                self.first_cell = False
            elif tag == "tbody":
                self.in_body = False

        def handle_data(self, data: str) -> None:
            if self.first_cell:
                self.cells[-1] += data.strip()

    parser = Cells()
    parser.feed(html)
    return parser.cells


def test_logging_in_shows_only_the_users_projects(project, other_project, owner):
    client = Client(enforce_csrf_checks=True)
    form = client.get("/login/?next=/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        {"username": owner.username, "password": "owner-pass-123", "next": "/", "csrfmiddlewaretoken": csrf},
    )
    assert form.status_code == 200
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert _project_cells(html) == ["acme"]
    assert "globex" not in html


def test_a_teammate_sees_the_shared_project_and_the_outsider_only_their_own(project, other_project, teammate, outsider):
    for user, password, expected in [
        (teammate, "teammate-pass-123", ["acme"]),
        (outsider, "outsider-pass-123", ["globex"]),
    ]:
        client = Client()
        assert client.login(username=user.username, password=password)
        assert _project_cells(client.get("/").content.decode()) == expected, user.username


def test_a_wrong_password_stays_on_the_log_in_form(client, project, owner):
    response = client.post("/login/", {"username": owner.username, "password": "wrong", "next": "/"})
    assert response.status_code == 200
    assert "didn" in response.content.decode()
    assert client.get("/").status_code == 302
