"""Every status code of POST /api/v1/records, and what each one stores."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time

import orjson
import pytest

from monitor.ingest.schema import MAX_BODY_BYTES
from monitor.projects.models import ApiKey
from tests.conftest import issue_key, post_records, record
from tests.ingest.helpers import counts

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_it_answers_202_with_the_record_count_after_commit(client, project, ingest_key):
    response = post_records(client, ingest_key, [record(), record(), record(count=5, window_s=10)])
    assert response.status_code == 202
    assert response.json() == {"accepted": 3}
    assert counts(project.pk) == {"rows": 3, "batches": 1, "series": 1}


def test_it_answers_401_without_a_key(client, project):
    response = post_records(client, None, [record()])
    assert response.status_code == 401
    assert response.json()["error"]
    assert response.json()["details"] == []
    assert "Bearer" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    ["Bearer tw_unknown0secretsecretsecretsecret", "Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz"],
)
def test_it_answers_401_for_an_unknown_or_malformed_key(client, project, header):
    response = client.post(
        "/api/v1/records",
        data=orjson.dumps({"records": [record()]}),
        content_type="application/json",
        headers={"Authorization": header},
    )
    assert response.status_code == 401
    assert counts(project.pk)["batches"] == 0


def test_it_answers_401_for_a_right_prefix_with_a_wrong_secret(client, project, ingest_key):
    forged = ingest_key[:11] + "x" * (len(ingest_key) - 11)
    assert post_records(client, forged, [record()]).status_code == 401


def test_it_answers_401_for_a_revoked_key(client, project, ingest_key, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    assert post_records(client, ingest_key, [record()]).status_code == 202
    ApiKey.objects.get(prefix=ingest_key[3:11]).revoke()
    assert post_records(client, ingest_key, [record()]).status_code == 401
    assert counts(project.pk)["batches"] == 1


def test_a_revoked_key_stops_working_within_the_cache_time(client, project, ingest_key, settings):
    settings.API_KEY_CACHE_SECONDS = 1
    assert post_records(client, ingest_key, [record()]).status_code == 202
    ApiKey.objects.get(prefix=ingest_key[3:11]).revoke()
    time.sleep(1.1)
    assert post_records(client, ingest_key, [record()]).status_code == 401


@pytest.mark.parametrize("scope", ["read", "admin"])
def test_it_answers_403_for_a_key_without_the_ingest_scope(client, project, scope):
    response = post_records(client, issue_key(project, scope), [record()])
    assert response.status_code == 403
    assert "ingest" in response.json()["error"]
    assert counts(project.pk)["batches"] == 0


def test_it_answers_413_for_more_than_ten_thousand_records(client, project, ingest_key):
    response = post_records(client, ingest_key, [record()] * 10_001)
    assert response.status_code == 413
    assert response.json()["details"][0]["field"] == "records"
    assert counts(project.pk)["batches"] == 0


def test_it_accepts_exactly_ten_thousand_records(client, project, ingest_key):
    response = post_records(client, ingest_key, [record()] * 10_000)
    assert response.status_code == 202
    assert response.json() == {"accepted": 10_000}


def test_it_answers_413_for_a_body_over_ten_megabytes(client, project, ingest_key):
    small = orjson.dumps({"records": [record()]})
    body = small[:-1] + b" " * (MAX_BODY_BYTES + 1 - len(small)) + b"}"
    assert len(body) > MAX_BODY_BYTES
    assert post_records(client, ingest_key, body=body).status_code == 413


def test_it_answers_413_for_a_gzip_body_that_inflates_past_ten_megabytes(client, project, ingest_key):
    inner = orjson.dumps({"records": [record()]})[:-1] + b" " * MAX_BODY_BYTES + b"}"
    bomb = gzip.compress(inner)
    assert len(bomb) < 100_000
    response = client.post(
        "/api/v1/records",
        data=bomb,
        content_type="application/json",
        headers={"Authorization": f"Bearer {ingest_key}", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413
    assert counts(project.pk)["batches"] == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", "application/xml"],
)
def test_it_answers_415_for_another_content_type(client, project, ingest_key, content_type):
    response = post_records(client, ingest_key, [record()], content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8"])
def test_it_accepts_json_with_a_utf8_charset(client, project, ingest_key, content_type):
    assert post_records(client, ingest_key, [record()], content_type=content_type).status_code == 202


@pytest.mark.parametrize("encoding", ["br", "deflate", "compress"])
def test_it_answers_415_for_another_content_encoding(client, project, ingest_key, encoding):
    response = post_records(client, ingest_key, [record()], headers={"Content-Encoding": encoding})
    assert response.status_code == 415


def test_it_accepts_a_gzip_body(client, project, ingest_key):
    response = post_records(client, ingest_key, [record(), record()], gzip=True)
    assert response.status_code == 202
    assert response.json() == {"accepted": 2}


@pytest.mark.parametrize("body", [b"\x1f\x8b\x08\x00garbage", b"not gzip at all"])
def test_it_answers_400_for_a_corrupt_gzip_body(client, project, ingest_key, body):
    response = post_records(client, ingest_key, body=body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert response.json()["details"][0]["index"] is None
    assert counts(project.pk)["batches"] == 0


def test_it_answers_400_for_a_truncated_gzip_body(client, project, ingest_key):
    body = gzip.compress(orjson.dumps({"records": [record()]}))[:-6]
    response = post_records(client, ingest_key, body=body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 400


def test_it_answers_429_with_retry_after_over_the_rate_limit(client, project, ingest_key, settings):
    settings.INGEST_RATE_LIMIT = 5
    first = post_records(client, ingest_key, [record()] * 10)  # admitted, leaves the bucket in debt
    assert first.status_code == 202
    second = post_records(client, ingest_key, [record()])
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1
    assert second.json()["error"]
    assert counts(project.pk)["rows"] == 10


def test_the_rate_limit_is_per_key(client, project, ingest_key, settings):
    settings.INGEST_RATE_LIMIT = 5
    assert post_records(client, ingest_key, [record()] * 10).status_code == 202
    assert post_records(client, issue_key(project), [record()]).status_code == 202


def test_it_answers_503_with_retry_after_while_the_database_is_unreachable(ingest_key):
    # A separate process whose DATABASE_URL points at a port nothing listens on.
    script = (
        "import django, orjson; django.setup();"
        "from django.test import Client;"
        f"r = Client().post('/api/v1/records', data=orjson.dumps({{'records': []}}),"
        f" content_type='application/json', headers={{'Authorization': 'Bearer {ingest_key}'}});"
        "print(r.status_code, r.headers.get('Retry-After'), r.json()['error'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "monitor.settings",
        "DATABASE_URL": "postgresql://nobody:nothing@127.0.0.1:9/nowhere",
        "DB_CONNECT_TIMEOUT": "2",
    }
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True)
    status, retry_after, error = result.stdout.strip().split(" ", 2)
    assert status == "503", result.stderr
    assert int(retry_after) >= 1
    assert "database" in error.lower()


def test_it_does_not_accept_get(client, project, ingest_key):
    response = client.get("/api/v1/records", headers={"Authorization": f"Bearer {ingest_key}"})
    assert response.status_code == 405
    assert response.json()["error"]


def test_it_answers_411_for_a_body_without_length_the_server_did_not_dechunk(rf):
    from monitor.api.errors import ApiError
    from monitor.ingest.body import read_body

    request = rf.post("/api/v1/records", data=b'{"records": []}', content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    with pytest.raises(ApiError) as answer:
        read_body(request)
    assert answer.value.status_code == 411


def test_other_views_keep_djangos_body_limit(client):
    response = client.post(
        "/login/", data=b"a=" + b"x" * (3 * 1024 * 1024), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


def test_it_answers_503_with_retry_after_while_the_rollup_backlog_is_over_its_bound(
    client, project, ingest_key, settings
):
    settings.INGEST_BACKLOG_LIMIT = 15
    assert post_records(client, ingest_key, [record()] * 10).status_code == 202  # 10 pending: under
    from monitor.ingest import backlog

    backlog.clear_cache()
    assert post_records(client, ingest_key, [record()] * 10).status_code == 202  # 20 pending now
    backlog.clear_cache()
    refused = post_records(client, ingest_key, [record()])
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert "rolled up" in refused.json()["error"]
    assert counts(project.pk)["rows"] == 20
