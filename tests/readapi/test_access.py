"""Who may read what: keys by scope, logged-in members by project, and nothing across projects."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client

from monitor.projects.models import ApiKey, Membership, Project
from tests.conftest import issue_key, post_records, record, roll_up_everything

METRICS = "/api/v1/metrics"
REPORT = "/api/v1/report"
BOTH = [METRICS, REPORT]

Params = Sequence[tuple[str, Any]]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read(client: Client, path: str, key: str | None = None, params: Params = ()) -> tuple[int, dict[str, Any]]:
    query = urlencode([(name, str(value)) for name, value in params])
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = client.get(f"{path}?{query}" if query else path, headers=headers)
    return response.status_code, json.loads(response.content, parse_constant=_no_constants)


def assert_error(status: int, body: dict[str, Any], wanted: int, field: str | None = None) -> None:
    assert status == wanted, body
    assert set(body) == {"error", "details"}, body
    assert isinstance(body["error"], str) and body["error"], body
    if field is not None:
        assert [item["field"] for item in body["details"]] == [field], body


def requests_by_group(body: dict[str, Any]) -> dict[tuple[str, ...], int]:
    if "rows" in body:
        return {tuple(r["labels"].values()): r["requests"] for r in body["rows"]}
    return {tuple(s["labels"].values()): sum(p["requests"] for p in s["points"]) for s in body["series"]}


@pytest.fixture
def acme_data(client: Client, project: Project, ingest_key: str) -> int:
    """Four o3 calls of acme, rolled up; returns a minute start before them."""
    start = (int(time.time()) // 60 - 3) * 60
    calls = [record(ts=start + 5.5 + i, tier="o3", service="acme-chat") for i in range(4)]
    assert post_records(client, ingest_key, calls).status_code == 202
    roll_up_everything()
    return start


# --- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BOTH)
def test_it_answers_401_without_credentials(client, project, path):
    status, body = read(client, path)
    assert_error(status, body, 401)


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("key", ["tw_abcdefghSECRETSECRETSECRETSECRET", "not-a-key", "tw_"])
def test_it_answers_401_for_an_unknown_key(client, project, path, key):
    status, body = read(client, path, key)
    assert_error(status, body, 401)


@pytest.mark.parametrize("path", BOTH)
def test_it_answers_403_for_an_ingest_key(client, ingest_key, path):
    status, body = read(client, path, ingest_key)
    assert_error(status, body, 403)


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("scope", ["read", "admin"])
def test_a_read_or_admin_key_reads_its_project(client, project, acme_data, path, scope):
    status, body = read(client, path, issue_key(project, scope), [("from", acme_data), ("to", acme_data + 60)])
    assert status == 200, body
    assert requests_by_group(body) == {("o3",): 4}


@pytest.mark.parametrize("path", BOTH)
def test_a_revoked_read_key_is_refused(client, project, settings, path):
    settings.API_KEY_CACHE_SECONDS = 0
    row, plain = ApiKey.issue(project, "read")
    assert read(client, path, plain)[0] == 200
    row.revoke()
    status, body = read(client, path, plain)
    assert_error(status, body, 401)


@pytest.mark.parametrize("path", BOTH)
def test_a_key_reads_its_own_project_when_it_names_it(client, project, acme_data, path):
    key = issue_key(project, "read")
    status, body = read(client, path, key, [("project", "acme"), ("from", acme_data), ("to", acme_data + 60)])
    assert status == 200, body
    assert requests_by_group(body) == {("o3",): 4}


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("slug", ["globex", "no-such-project"])
def test_a_key_naming_another_project_gets_404(client, project, other_project, acme_data, path, slug):
    status, body = read(client, path, issue_key(project, "admin"), [("project", slug)])
    assert_error(status, body, 404, "project")


# --- sessions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_a_logged_in_member_reads_their_project(client, request, acme_data, path, who):
    client.force_login(request.getfixturevalue(who))
    status, body = read(client, path, None, [("from", acme_data), ("to", acme_data + 60)])
    assert status == 200, body
    assert requests_by_group(body) == {("o3",): 4}


@pytest.mark.parametrize("path", BOTH)
def test_a_user_in_two_projects_must_choose_one(client, owner, project, other_project, acme_data, path):
    Membership.objects.create(project=other_project, user=owner, role=Membership.Role.MEMBER)
    client.force_login(owner)
    status, body = read(client, path, None, [("from", acme_data), ("to", acme_data + 60)])
    assert_error(status, body, 400, "project")
    assert "project" in body["error"]
    status, body = read(client, path, None, [("project", "acme"), ("from", acme_data), ("to", acme_data + 60)])
    assert status == 200, body
    assert requests_by_group(body) == {("o3",): 4}
    status, body = read(client, path, None, [("project", "globex"), ("from", acme_data), ("to", acme_data + 60)])
    assert status == 200, body
    assert requests_by_group(body) == {}


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("slug", ["acme", "no-such-project"])
def test_a_user_asking_for_a_project_they_are_not_a_member_of_gets_404(
    client, outsider, project, other_project, acme_data, path, slug
):
    client.force_login(outsider)
    status, body = read(client, path, None, [("project", slug), ("from", acme_data), ("to", acme_data + 60)])
    assert_error(status, body, 404, "project")
    assert "o3" not in json.dumps(body)


@pytest.mark.parametrize("path", BOTH)
def test_a_user_in_no_project_reads_nothing(client, project, path):
    client.force_login(User.objects.create_user("nadia", password="no-project-pass-1"))
    status, body = read(client, path)
    assert_error(status, body, 404)


# --- isolation -------------------------------------------------------------------------------------

A_ONLY = {"service": "acme-secret-svc", "model": "o3-acme-finetune", "deployment": "acme-dc"}
SHARED = {"tier": "o3", "service": "chat", "model": "o3", "deployment": "default"}
GROUPINGS = ["tier", "model", "service", "deployment", "tier,service", "tier,model,service,deployment", ""]
FILTERS: list[Params] = [
    [],
    [("tier", "o3")],
    [("tier", "o3"), ("tier", "4o")],
    *([(name, value)] for name, value in A_ONLY.items()),
    [("service", "chat"), ("service", "acme-secret-svc")],
    [(name, value) for name, value in SHARED.items()],
]


@pytest.fixture
def two_projects(client: Client, project: Project, other_project: Project, ingest_key: str) -> dict[str, Any]:
    """acme has 7 o3 calls (some under names only acme uses); globex has 3 o3 calls named like acme's."""
    start = (int(time.time()) // 60 - 3) * 60
    acme = [record(ts=start + 10.5, **SHARED) for _ in range(4)]  # 4 calls in one second
    acme += [record(ts=start + 20.5 + i, tier="o3", status="error", **A_ONLY) for i in range(3)]
    acme.append(record(ts=start + 30.5, tier="4o", service="acme-secret-svc", count=50, window_s=60))
    globex = [record(ts=start + 10.5, **SHARED) for _ in range(3)]
    assert post_records(client, ingest_key, acme).status_code == 202
    assert post_records(client, issue_key(other_project, "ingest"), globex).status_code == 202
    roll_up_everything()
    return {"start": start, "key": issue_key(other_project, "read")}


def _combinations() -> list[tuple[str, str, int]]:
    return [
        (path, group_by, index)
        for path, group_by, index in itertools.product(BOTH, GROUPINGS, range(len(FILTERS)))
        # keep the run short: every grouping with every filter on the report, a sample on the metrics
        if path == REPORT or index % 3 == 0
    ]


def _expected_globex(filters: Params) -> int:
    """globex's calls that pass the filters (all of them are SHARED)."""
    by_name: dict[str, set[str]] = {}
    for name, value in filters:
        by_name.setdefault(name, set()).add(value)
    return 3 if all(SHARED[name] in values for name, values in by_name.items()) else 0


@pytest.mark.parametrize(("path", "group_by", "index"), _combinations())
def test_a_projects_records_never_show_in_another_projects_reads_by_key(client, two_projects, path, group_by, index):
    filters = FILTERS[index]
    start = two_projects["start"]
    params = [("from", start), ("to", start + 60), ("group_by", group_by), *filters]
    status, body = read(client, path, two_projects["key"], params)
    assert status == 200, body
    text = json.dumps(body)
    for secret in A_ONLY.values():
        assert secret not in text
    assert "4o" not in text
    wanted = _expected_globex(filters)
    assert sum(requests_by_group(body).values()) == wanted, body
    if path == REPORT:
        for row in body["rows"]:
            assert row["errors"] == 0
            assert row["peak_qps"] == 3
            assert row["total_cost"] == pytest.approx(0.45)


@pytest.mark.parametrize("path", BOTH)
@pytest.mark.parametrize("group_by", GROUPINGS)
def test_a_projects_records_never_show_to_another_projects_member(client, outsider, two_projects, path, group_by):
    client.force_login(outsider)
    start = two_projects["start"]
    for filters in FILTERS:
        params = [("from", start), ("to", start + 60), ("group_by", group_by), *filters]
        status, body = read(client, path, None, params)
        assert status == 200, body
        text = json.dumps(body)
        for secret in A_ONLY.values():
            assert secret not in text
        assert sum(requests_by_group(body).values()) == _expected_globex(filters), (filters, body)


def test_the_owning_project_sees_its_own_records_under_the_same_queries(client, project, two_projects):
    start = two_projects["start"]
    params = [("from", start), ("to", start + 60), ("group_by", "tier")]
    status, body = read(client, REPORT, issue_key(project, "read"), params)
    assert status == 200, body
    rows = {r["labels"]["tier"]: r for r in body["rows"]}
    assert rows["o3"]["requests"] == 7 and rows["o3"]["errors"] == 3
    assert rows["o3"]["peak_qps"] == 4
    assert rows["4o"]["requests"] == 50
