"""The annotations API: who may read and write, what a body must hold, and nothing across projects."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client

from monitor.annotations.models import Annotation
from monitor.projects.models import Membership, Project
from tests.conftest import issue_key

URL = "/api/v1/annotations"
NOW = int(time.time())


def _headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _body(response: Any) -> dict[str, Any]:
    return json.loads(response.content) if response.content else {}


def listing(client: Client, key: str | None = None, **params: Any) -> tuple[int, dict[str, Any]]:
    query = urlencode(params)
    response = client.get(f"{URL}?{query}" if query else URL, headers=_headers(key))
    return response.status_code, _body(response)


def create(
    client: Client, key: str | None, body: Any, *, project: str | None = None, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    url = f"{URL}?project={project}" if project else URL
    data = raw if raw is not None else json.dumps(body)
    response = client.post(url, data=data, content_type="application/json", headers=_headers(key))
    return response.status_code, _body(response)


def delete(client: Client, key: str | None, pk: int, *, project: str | None = None) -> tuple[int, dict[str, Any]]:
    url = f"{URL}/{pk}" + (f"?project={project}" if project else "")
    response = client.delete(url, headers=_headers(key))
    return response.status_code, _body(response)


def assert_error(status: int, body: dict[str, Any], wanted: int, field: str | None = None) -> None:
    assert status == wanted, body
    assert set(body) == {"error", "details"}, body
    assert isinstance(body["error"], str) and body["error"], body
    if field is not None:
        assert [item["field"] for item in body["details"]] == [field], body


def note(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"time": NOW - 600, "text": "INT8 quantisation on"}
    base.update(overrides)
    return base


@pytest.fixture
def admin_key(project: Project) -> str:
    return issue_key(project, "admin")


# --- create, list, delete with an admin key ---------------------------------------------------------


def test_an_admin_key_records_an_annotation_and_gets_it_back(client, admin_key):
    status, body = create(client, admin_key, note(time=1_700_000_000.75, filter={"tier": "o3"}))
    assert status == 201, body
    assert set(body) == {"id", "time", "text", "filter"}
    assert body["time"] == "2023-11-14T22:13:20Z"
    assert body["text"] == "INT8 quantisation on"
    assert body["filter"] == {"tier": ["o3"]}
    stored = Annotation.objects.get(pk=body["id"])
    assert stored.created_by is None
    assert stored.time.timestamp() == 1_700_000_000


def test_it_lists_the_annotations_of_the_last_30_days_oldest_first(client, admin_key):
    for text, offset in [("later", 3_600), ("earlier", 86_400 * 2), ("too old", 86_400 * 31)]:
        assert create(client, admin_key, note(time=NOW - offset, text=text))[0] == 201
    status, body = listing(client, admin_key)
    assert status == 200, body
    assert [item["text"] for item in body["annotations"]] == ["earlier", "later"]


def test_an_annotation_made_just_now_is_listed_at_once(client, admin_key):
    assert create(client, admin_key, note(time=time.time()))[0] == 201
    status, body = listing(client, admin_key)
    assert status == 200, body
    assert len(body["annotations"]) == 1


def test_it_lists_the_range_asked_for_with_to_exclusive(client, admin_key):
    for offset in (100, 200, 300):
        create(client, admin_key, note(time=1_700_000_000 + offset, text=f"at {offset}"))
    status, body = listing(client, admin_key, **{"from": "2023-11-14T22:15:01Z", "to": 1_700_000_300})
    assert status == 200, body
    assert [item["text"] for item in body["annotations"]] == ["at 200"]
    status, body = listing(client, admin_key, **{"from": "2023-11-14T22:15:00Z", "to": 1_700_000_300.5})
    assert status == 200, body
    assert [item["text"] for item in body["annotations"]] == ["at 100", "at 200", "at 300"]


def test_it_lists_an_announced_change_when_to_is_in_the_future(client, admin_key):
    create(client, admin_key, note(time=NOW + 3_600, text="maintenance"))
    assert listing(client, admin_key)[1]["annotations"] == []
    status, body = listing(client, admin_key, to=NOW + 7_200)
    assert status == 200, body
    assert [item["text"] for item in body["annotations"]] == ["maintenance"]


def test_it_accepts_an_rfc_3339_time_with_an_offset(client, admin_key):
    status, body = create(client, admin_key, note(time="2026-01-31T20:00:00+08:00"))
    assert status == 201, body
    assert body["time"] == "2026-01-31T12:00:00Z"


def test_it_normalises_every_filter_value_to_a_list_in_dimension_order(client, admin_key):
    given = {"deployment": "edge", "tier": ["o3", "4o", "o3"], "service": ["客服"]}
    status, body = create(client, admin_key, note(filter=given))
    assert status == 201, body
    assert body["filter"] == {"tier": ["o3", "4o"], "service": ["客服"], "deployment": ["edge"]}
    assert list(body["filter"]) == ["tier", "service", "deployment"]


@pytest.mark.parametrize("empty", [None, {}])
def test_a_missing_or_empty_filter_means_the_whole_project(client, admin_key, empty):
    status, body = create(client, admin_key, note(filter=empty))
    assert status == 201, body
    assert body["filter"] == {}


def test_an_admin_key_deletes_an_annotation(client, admin_key):
    pk = create(client, admin_key, note())[1]["id"]
    status, body = delete(client, admin_key, pk)
    assert status == 204, body
    assert not Annotation.objects.filter(pk=pk).exists()
    assert listing(client, admin_key)[1]["annotations"] == []


def test_deleting_an_unknown_annotation_is_a_404(client, admin_key):
    status, body = delete(client, admin_key, 987_654_321)
    assert_error(status, body, 404, "id")


# --- keys and scopes ------------------------------------------------------------------------------


def test_it_answers_401_without_credentials(client, project):
    assert_error(*listing(client), 401)
    assert_error(*create(client, None, note()), 401)
    assert_error(*delete(client, None, 1), 401)


def test_it_answers_401_for_an_unknown_key(client, project):
    key = "tw_abcdefghSECRETSECRETSECRETSECRET"
    assert_error(*listing(client, key), 401)
    assert_error(*create(client, key, note()), 401)


def test_a_read_key_can_list_but_not_write(client, project, admin_key):
    pk = create(client, admin_key, note())[1]["id"]
    read_key = issue_key(project, "read")
    status, body = listing(client, read_key)
    assert status == 200, body
    assert [item["id"] for item in body["annotations"]] == [pk]
    assert_error(*create(client, read_key, note(text="sneaky")), 403)
    assert_error(*delete(client, read_key, pk), 403)
    assert Annotation.objects.count() == 1


def test_an_ingest_key_can_neither_list_nor_write(client, project, ingest_key):
    assert_error(*listing(client, ingest_key), 403)
    assert_error(*create(client, ingest_key, note()), 403)


# --- sessions -------------------------------------------------------------------------------------


def test_a_teammate_session_can_list_but_not_write(client, teammate, admin_key):
    pk = create(client, admin_key, note())[1]["id"]
    client.force_login(teammate)
    status, body = listing(client)
    assert status == 200, body
    assert [item["id"] for item in body["annotations"]] == [pk]
    assert_error(*create(client, None, note(text="not mine to say")), 403)
    assert_error(*delete(client, None, pk), 403)
    assert Annotation.objects.count() == 1


def test_the_owner_session_can_write(client, owner, project):
    client.force_login(owner)
    status, body = create(client, None, note(text="batch size 8→32"))
    assert status == 201, body
    assert Annotation.objects.get(pk=body["id"]).created_by == owner
    assert [item["text"] for item in listing(client)[1]["annotations"]] == ["batch size 8→32"]
    assert delete(client, None, body["id"])[0] == 204
    assert listing(client)[1]["annotations"] == []


def test_an_owner_in_two_projects_names_the_one_to_write_to(client, owner, project, other_project):
    Membership.objects.create(project=other_project, user=owner, role=Membership.Role.MEMBER)
    client.force_login(owner)
    assert_error(*create(client, None, note()), 400, "project")
    assert_error(*create(client, None, note(), project="globex"), 403)
    status, body = create(client, None, note(), project="acme")
    assert status == 201, body
    assert Annotation.objects.get().project == project


def test_an_outsider_session_cannot_reach_the_project(client, outsider, project, other_project, admin_key):
    pk = create(client, admin_key, note())[1]["id"]
    client.force_login(outsider)
    assert_error(*listing(client, project="acme"), 404, "project")
    assert_error(*create(client, None, note(), project="acme"), 404, "project")
    assert listing(client)[1]["annotations"] == []
    assert_error(*delete(client, None, pk), 404, "id")
    assert Annotation.objects.filter(pk=pk).exists()


def test_a_user_in_no_project_gets_a_404(client, project):
    client.force_login(User.objects.create_user("nadia", password="no-project-pass-1"))
    assert_error(*listing(client), 404)


# --- isolation ------------------------------------------------------------------------------------


def test_another_projects_key_never_sees_or_deletes_its_annotations(client, project, other_project, admin_key):
    pk = create(client, admin_key, note(text="acme secret change", filter={"service": "acme-svc"}))[1]["id"]
    globex_admin = issue_key(other_project, "admin")
    globex_read = issue_key(other_project, "read")
    for key in (globex_admin, globex_read):
        status, body = listing(client, key, **{"from": int(time.time()) - 86_400 * 400 + 60})
        assert status == 200, body
        assert body["annotations"] == []
        assert "acme" not in json.dumps(body)
    assert_error(*listing(client, globex_admin, project="acme"), 404, "project")
    assert_error(*delete(client, globex_admin, pk), 404, "id")
    assert_error(*delete(client, globex_admin, pk, project="acme"), 404, "project")
    assert Annotation.objects.filter(pk=pk).exists()
    created = create(client, globex_admin, note(text="globex change"))[1]
    assert Annotation.objects.get(pk=created["id"]).project == other_project
    assert [item["text"] for item in listing(client, admin_key)[1]["annotations"]] == ["acme secret change"]


# --- bad input ------------------------------------------------------------------------------------

BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("missing time", {"text": "x"}, "time"),
    ("null time", {"time": None, "text": "x"}, "time"),
    ("bad time string", note(time="yesterday"), "time"),
    ("time without offset", note(time="2026-01-31T12:00:00"), "time"),
    ("boolean time", note(time=True), "time"),
    ("time as an object", note(time={"s": 1}), "time"),
    ("time after year 9999", note(time=1e15), "time"),
    ("missing text", {"time": NOW}, "text"),
    ("empty text", note(text=""), "text"),
    ("blank text", note(text="   "), "text"),
    ("too long text", note(text="x" * 501), "text"),
    ("text not a string", note(text=42), "text"),
    ("text with a control character", note(text="bad\x00text"), "text"),
    ("unknown filter key", note(filter={"colour": "red"}), "filter.colour"),
    ("non-string filter value", note(filter={"tier": 3}), "filter.tier"),
    ("non-string in a filter list", note(filter={"tier": ["o3", None]}), "filter.tier"),
    ("empty filter list", note(filter={"tier": []}), "filter.tier"),
    ("blank filter value", note(filter={"model": " "}), "filter.model"),
    ("too long filter value", note(filter={"service": "s" * 101}), "filter.service"),
    ("filter not an object", note(filter=["tier", "o3"]), "filter"),
    ("unknown field", note(colour="red"), "colour"),
]


@pytest.mark.parametrize(("body", "field"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES])
def test_it_rejects_a_bad_body_naming_the_field(client, admin_key, body, field):
    status, answer = create(client, admin_key, body)
    assert_error(status, answer, 400, field)
    assert field.split(".")[0] in answer["error"]
    assert not Annotation.objects.exists()


def test_it_rejects_an_empty_text(client, admin_key):
    assert_error(*create(client, admin_key, note(text="")), 400, "text")


def test_it_accepts_a_text_of_exactly_500_characters(client, admin_key):
    status, body = create(client, admin_key, note(text="é" * 500))
    assert status == 201, body
    assert body["text"] == "é" * 500


def test_it_names_every_bad_field_at_once(client, admin_key):
    status, body = create(client, admin_key, {"text": "", "filter": {"region": "eu"}})
    assert_error(status, body, 400)
    assert sorted(item["field"] for item in body["details"]) == ["filter.region", "text", "time"]


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"null"])
def test_it_rejects_a_body_that_is_not_an_object(client, admin_key, raw):
    assert_error(*create(client, admin_key, None, raw=raw), 400, None)


def test_it_rejects_a_body_that_is_not_json(client, admin_key):
    assert_error(*create(client, admin_key, None, raw=b"{not json"), 400)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-01-31T12:00:00"}, "to"),
        ({"from": NOW, "to": NOW - 60}, "from"),
        ({"from": NOW - 86_400 * 401, "to": NOW}, "from"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_it_rejects_a_bad_listing_parameter_naming_it(client, admin_key, params, field):
    assert_error(*listing(client, admin_key, **params), 400, field)


# --- OpenAPI --------------------------------------------------------------------------------------


def test_the_schema_describes_the_annotation_endpoints(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"get", "post"} <= set(paths[URL])
    item = next(path for path in paths if path.startswith(f"{URL}/"))
    assert "delete" in paths[item]
    assert {"201", "400", "401", "403"} <= set(paths[URL]["post"]["responses"])
    assert {"204", "401", "403", "404"} <= set(paths[item]["delete"]["responses"])
    request = paths[URL]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(request["required"]) == {"time", "text"}
