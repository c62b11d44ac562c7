"""API keys: how they are made and stored, and how a bearer key resolves to its project and scope."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from monitor.api import keys as key_cache
from monitor.api.keys import resolve_key
from monitor.projects.models import ApiKey, hash_key
from tests.conftest import issue_key, post_records, record
from tests.ingest.helpers import counts

# tw_ + 8-character prefix + secrets.token_urlsafe(24): 24 random bytes, 32 URL-safe base64 characters.
KEY_SHAPE = re.compile(r"tw_(?P<prefix>[a-z0-9]{8})(?P<secret>[A-Za-z0-9_-]+)")
URLSAFE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _secret(plain: str) -> str:
    match = KEY_SHAPE.fullmatch(plain)
    assert match is not None, plain
    return match["secret"]


def test_it_issues_tw_then_the_stored_prefix_then_a_secret_of_at_least_128_random_bits(project):
    row, plain = ApiKey.issue(project, "ingest")
    match = KEY_SHAPE.fullmatch(plain)
    assert match is not None, plain
    assert match["prefix"] == row.prefix
    secret = match["secret"]
    # token_urlsafe(24) encodes 24 random bytes (192 bits) as 32 characters without padding.
    assert len(secret) == 32
    assert set(secret) <= set(URLSAFE_ALPHABET)
    assert len(secret) * math.log2(len(URLSAFE_ALPHABET)) >= 128
    assert len(plain) == 3 + 8 + 32


def test_it_draws_a_new_secret_for_every_key(project):
    secrets_seen = {_secret(issue_key(project)) for _ in range(200)}
    assert len(secrets_seen) == 200


def test_it_stores_the_sha256_of_the_key_and_nothing_else_of_it(project):
    row, plain = ApiKey.issue(project, "read", name="grafana")
    row.refresh_from_db()
    expected = hashlib.sha256(plain.encode()).hexdigest()
    assert hash_key(plain) == expected
    assert row.key_hash == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(k)::text FROM projects_apikey k WHERE k.id = %s", [row.pk])
        (stored,) = cursor.fetchone()
    assert plain not in stored
    assert _secret(plain) not in stored
    # Not even a large piece of the secret is kept (the prefix is public, the secret is not).
    assert _secret(plain)[:16] not in stored and _secret(plain)[16:] not in stored


def test_the_plain_key_is_in_no_column_of_the_database(project):
    plain = issue_key(project, "admin")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'json')
            """
        )
        columns = cursor.fetchall()
        holders = []
        for table, column in columns:
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s', [f"%{_secret(plain)}%"])
            if cursor.fetchone()[0]:
                holders.append(f"{table}.{column}")
    assert columns, "no text columns found: the query is wrong"
    assert holders == []


def test_prefixes_are_unique_across_many_keys(project, other_project):
    made = [ApiKey.issue(project if n % 2 else other_project, "ingest")[0] for n in range(500)]
    prefixes = [key.prefix for key in made]
    assert len(set(prefixes)) == 500
    assert ApiKey.objects.filter(prefix__in=prefixes).count() == 500
    assert all(re.fullmatch(r"[a-z0-9]{8}", prefix) for prefix in prefixes)


def test_a_key_resolves_to_its_project_and_scope(project):
    row, plain = ApiKey.issue(project, "read")
    principal = resolve_key(plain)
    assert principal is not None
    assert (principal.key_id, principal.project_id, principal.scope) == (row.pk, project.pk, "read")
    assert principal.has_scope("read", "admin") and not principal.has_scope("ingest")


def test_a_key_of_one_project_never_resolves_to_another(project, other_project):
    mine = issue_key(project)
    theirs = issue_key(other_project)
    for _ in range(2):  # from the database, then from the cache
        first, second = resolve_key(mine), resolve_key(theirs)
        assert first is not None and first.project_id == project.pk
        assert second is not None and second.project_id == other_project.pk
    # My prefix with their secret, and their prefix with my secret: neither is a key.
    assert resolve_key(mine[:11] + _secret(theirs)) is None
    assert resolve_key(theirs[:11] + _secret(mine)) is None


def test_records_posted_with_a_key_go_to_that_keys_project_only(client, project, other_project):
    response = post_records(client, issue_key(other_project), [record(), record()])
    assert response.status_code == 202, response.content
    assert counts(other_project.pk)["rows"] == 2
    assert counts(project.pk) == {"rows": 0, "batches": 0, "series": 0}


def test_a_wrong_secret_or_a_malformed_key_resolves_to_nothing(project):
    plain = issue_key(project)
    assert resolve_key(plain) is not None  # now cached: the cache must still check the secret
    wrong_last = plain[:-1] + ("A" if plain[-1] != "A" else "B")
    for bad in [wrong_last, plain[:-1], plain + "x", plain.upper(), plain[3:], "", "tw_", f"tw_{plain[3:11]}"]:
        assert resolve_key(bad) is None, bad
    assert resolve_key(f"tw_zzzzzzzz{secrets.token_urlsafe(24)}") is None


def test_a_cached_key_costs_no_query(project, django_assert_num_queries):
    plain = issue_key(project)
    assert resolve_key(plain) is not None
    with django_assert_num_queries(0):
        for _ in range(100):
            assert resolve_key(plain) is not None


def test_a_revoked_key_resolves_to_nothing_once_the_cache_time_has_passed(project, settings):
    settings.API_KEY_CACHE_SECONDS = 1
    row, plain = ApiKey.issue(project, "ingest")
    assert resolve_key(plain) is not None
    row.revoke()
    row.refresh_from_db()
    assert row.revoked_at is not None and not row.is_active
    time.sleep(settings.API_KEY_CACHE_SECONDS + 0.1)
    assert resolve_key(plain) is None
    assert resolve_key(plain) is None  # and the refusal holds, cached or not


def test_a_revoked_key_is_refused_by_the_ingest_endpoint_after_the_cache_time(client, project, settings):
    settings.API_KEY_CACHE_SECONDS = 1
    row, plain = ApiKey.issue(project, "ingest")
    assert post_records(client, plain, [record()]).status_code == 202
    row.revoke()
    time.sleep(settings.API_KEY_CACHE_SECONDS + 0.1)
    response = post_records(client, plain, [record()])
    assert response.status_code == 401
    assert counts(project.pk)["rows"] == 1


def test_the_configured_cache_time_stops_a_revoked_key_within_ten_seconds(settings):
    assert 0 <= settings.API_KEY_CACHE_SECONDS <= 10


def test_revoking_twice_keeps_the_first_time(project):
    row, _ = ApiKey.issue(project, "ingest")
    row.revoke()
    first = ApiKey.objects.get(pk=row.pk).revoked_at
    row.revoke()
    assert ApiKey.objects.get(pk=row.pk).revoked_at == first


def test_last_used_at_is_empty_until_first_use_and_then_set(project):
    row, plain = ApiKey.issue(project, "ingest")
    assert ApiKey.objects.get(pk=row.pk).last_used_at is None
    before = timezone.now()
    assert resolve_key(plain) is not None
    used = ApiKey.objects.get(pk=row.pk).last_used_at
    assert used is not None and before <= used <= timezone.now()


def test_last_used_at_is_not_rewritten_within_a_minute(project, settings):
    settings.API_KEY_CACHE_SECONDS = 0  # every use goes to the database
    row, plain = ApiKey.issue(project, "ingest")
    recent = timezone.now() - timedelta(seconds=30)
    ApiKey.objects.filter(pk=row.pk).update(last_used_at=recent)
    for _ in range(5):
        assert resolve_key(plain) is not None
    assert ApiKey.objects.get(pk=row.pk).last_used_at == recent


def test_last_used_at_is_rewritten_once_a_minute_has_passed(project, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    row, plain = ApiKey.issue(project, "ingest")
    stale = timezone.now() - timedelta(seconds=61)
    ApiKey.objects.filter(pk=row.pk).update(last_used_at=stale)
    before = timezone.now()
    assert resolve_key(plain) is not None
    fresh = ApiKey.objects.get(pk=row.pk).last_used_at
    assert fresh is not None and fresh >= before
    assert resolve_key(plain) is not None
    assert ApiKey.objects.get(pk=row.pk).last_used_at == fresh


def test_a_rejected_key_does_not_touch_last_used_at(project):
    row, plain = ApiKey.issue(project, "ingest")
    assert resolve_key(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert ApiKey.objects.get(pk=row.pk).last_used_at is None


def test_unknown_keys_do_not_pile_up_in_the_cache(db, settings):
    # Every request with a made-up key must not leave an entry behind for good:
    # an anonymous client could grow a process's memory without bound.
    settings.API_KEY_CACHE_SECONDS = 0
    for _ in range(1000):
        assert resolve_key(f"tw_{secrets.token_hex(4)}{secrets.token_urlsafe(24)}") is None
    assert len(key_cache._cache) < 1000
