"""The Django admin: every model opens, API keys are issued and revoked safely, batches preview their rows."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from monitor.catalogue.models import ModelVersion, Price, Series, Tier
from monitor.projects.models import ApiKey, Membership, Project, hash_key
from monitor.store.models import IngestBatch
from monitor.store.raw import batch_rows
from tests.conftest import post_records, record

PLAIN_KEY = re.compile(r"tw_[a-z0-9]{8}[A-Za-z0-9_-]{32}")
ADMIN_PASSWORD = "admin-pass-123"


@pytest.fixture
def admin_client(db) -> Client:
    User.objects.create_superuser("ada", "ada@example.com", ADMIN_PASSWORD)
    client = Client()
    assert client.login(username="ada", password=ADMIN_PASSWORD)
    return client


@pytest.fixture
def batch(client, project, ingest_key) -> IngestBatch:
    """A batch of three records on two days, from two services."""
    now = time.time()
    records = [
        record(ts=now - 5, service="support-bot", tokens_out=120),
        record(ts=now - 4, service="搜索助手 <b>β</b>", tier="o3", status="error", error_type="timeout"),
        record(ts=now - 2 * 86_400, service="support-bot", tier="o4-mini", cost=0.25),
    ]
    response = post_records(client, ingest_key, records)
    assert response.status_code == 202, response.content
    return IngestBatch.objects.get(project=project)


def _url(model: type[Model], view: str, *args: object) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def _preview_rows(page: str) -> int:
    table = re.search(r'<table class="raw-rows">.*?</table>', page, re.S)
    assert table is not None, "no raw row preview on the page"
    return table.group(0).count("<tr>")


def _page(admin_client: Client, url: str) -> str:
    response = admin_client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("model", [Project, Membership, ApiKey, Tier, ModelVersion, Price, Series, IngestBatch])
def test_it_opens_every_models_changelist_and_change_page(admin_client, project, batch, model):
    ApiKey.issue(project, ApiKey.Scope.READ, "dashboards")
    obj = model._default_manager.first()
    assert obj is not None, f"no {model.__name__} to open"

    listing = _page(admin_client, _url(model, "changelist"))
    change = _page(admin_client, _url(model, "change", obj.pk))

    assert str(obj.pk) in change
    for key in ApiKey.objects.all():
        assert key.key_hash not in listing
        assert key.key_hash not in change


def test_it_lists_a_key_by_its_prefix_and_never_shows_its_hash(admin_client, project):
    key, _ = ApiKey.issue(project, ApiKey.Scope.INGEST, "gateway")

    listing = _page(admin_client, _url(ApiKey, "changelist"))
    change = _page(admin_client, _url(ApiKey, "change", key.pk))

    assert f"tw_{key.prefix}…" in listing
    assert f"tw_{key.prefix}…" in change
    assert key.key_hash not in listing + change
    assert 'name="key_hash"' not in change


def test_it_issues_a_key_added_in_the_admin_and_shows_it_once(admin_client, project):
    response = admin_client.post(
        _url(ApiKey, "add"), {"project": project.pk, "scope": "read", "name": "grafana", "_save": "1"}, follow=True
    )

    assert response.status_code == 200
    shown = PLAIN_KEY.findall(response.content.decode())
    assert len(shown) == 1, "the new key is shown exactly once"
    plain = shown[0]
    key = ApiKey.objects.get()
    assert (key.project, key.scope, key.name) == (project, "read", "grafana")
    assert key.prefix == plain[3:11]
    assert key.key_hash == hash_key(plain) != plain
    assert plain not in _page(admin_client, _url(ApiKey, "changelist")), "shown a second time"
    assert plain not in _page(admin_client, _url(ApiKey, "change", key.pk))
    assert not any(plain in f"{e.object_repr} {e.change_message}" for e in LogEntry.objects.all())


def test_it_issues_an_admin_added_key_that_works(admin_client, client, project):
    response = admin_client.post(
        _url(ApiKey, "add"), {"project": project.pk, "scope": "ingest", "name": "", "_save": "1"}, follow=True
    )
    plain = PLAIN_KEY.findall(response.content.decode())[0]

    assert post_records(client, plain, [record()]).status_code == 202


def test_it_revokes_the_selected_keys_with_the_admin_action(admin_client, project):
    first, _ = ApiKey.issue(project, ApiKey.Scope.INGEST)
    second, _ = ApiKey.issue(project, ApiKey.Scope.READ)
    untouched, _ = ApiKey.issue(project, ApiKey.Scope.ADMIN)
    second.revoke()
    revoked_before = ApiKey.objects.get(pk=second.pk).revoked_at

    response = admin_client.post(
        _url(ApiKey, "changelist"),
        {"action": "revoke_keys", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 key" in response.content.decode()
    assert ApiKey.objects.get(pk=first.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=second.pk).revoked_at == revoked_before
    assert ApiKey.objects.get(pk=untouched.pk).revoked_at is None


def test_it_stops_a_revoked_key_from_ingesting(admin_client, client, project):
    key, plain = ApiKey.issue(project, ApiKey.Scope.INGEST)
    admin_client.post(_url(ApiKey, "changelist"), {"action": "revoke_keys", "_selected_action": [key.pk]})

    assert post_records(client, plain, [record()]).status_code == 401


def test_it_keeps_a_keys_project_and_scope_fixed_after_issue(admin_client, project, other_project):
    key, _ = ApiKey.issue(project, ApiKey.Scope.READ, "old name")

    admin_client.post(
        _url(ApiKey, "change", key.pk), {"project": other_project.pk, "scope": "admin", "name": "new name"}
    )

    key.refresh_from_db()
    assert (key.project, key.scope, key.name) == (project, "read", "new name")


def test_it_seeds_a_project_added_in_the_admin_with_its_owner(admin_client, owner):
    response = admin_client.post(
        _url(Project, "add"),
        {
            "slug": "initech",
            "name": "Initech",
            "currency": "USD",
            "series_limit": "500",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": owner.pk,
            "memberships-0-role": "owner",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    made = Project.objects.get(slug="initech")
    assert sorted(made.tiers.values_list("name", flat=True)) == ["4o", "o3", "o4-mini"]
    assert made.prices.count() == 3
    assert made.memberships.get().user == owner


def test_it_refuses_a_price_for_a_tier_of_another_project(admin_client, project, other_project):
    foreign_tier = other_project.tiers.get(name="o3")
    before = Price.objects.count()

    response = admin_client.post(
        _url(Price, "add"),
        {
            "project": project.pk,
            "tier": foreign_tier.pk,
            "model": "",
            "effective_from_0": "2026-01-01",
            "effective_from_1": "00:00:00",
            "per_call": "0.1",
            "per_million_input": "0",
            "per_million_output": "0",
        },
    )

    assert response.status_code == 200
    assert "belongs to project globex" in response.content.decode()
    assert Price.objects.count() == before


def test_it_labels_tier_choices_with_their_project(admin_client, project, other_project):
    page = _page(admin_client, _url(Price, "add"))

    assert "acme / o3" in page
    assert "globex / o3" in page


@pytest.mark.parametrize("model", [Series, IngestBatch])
def test_it_keeps_ingest_written_rows_read_only(admin_client, batch, model):
    obj = model._default_manager.first()

    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_it_previews_a_batchs_raw_rows_on_its_change_page(admin_client, batch):
    page = _page(admin_client, _url(IngestBatch, "change", batch.pk))

    assert "搜索助手 &lt;b&gt;β&lt;/b&gt;" in page
    assert "<b>β</b>" not in page
    assert "timeout" in page
    assert "0.25" in page  # the record's own cost, in currency units
    assert _preview_rows(page) == 1 + 3  # the header and the three records


def test_it_previews_only_the_first_fifty_rows(admin_client, client, project, ingest_key):
    response = post_records(client, ingest_key, [record(latency_ms=float(n)) for n in range(60)])
    assert response.status_code == 202
    batch = IngestBatch.objects.get(project=project)

    page = _page(admin_client, _url(IngestBatch, "change", batch.pk))

    assert "The first 50 of 60 records." in page
    assert _preview_rows(page) == 1 + 50


def test_it_reads_a_batchs_rows_only_within_its_time_bounds(batch):
    inside = batch_rows(batch.pk, batch.min_ts_us, batch.max_ts_us)
    outside = batch_rows(batch.pk, batch.max_ts_us + 1, batch.max_ts_us + 86_400_000_000)

    assert len(inside) == 3
    assert {row["batch_id"] for row in inside} == {batch.pk}
    assert outside == []


def test_it_finds_a_key_by_its_pasted_plain_text(admin_client, project):
    key, plain = ApiKey.issue(project, ApiKey.Scope.INGEST)
    other, _ = ApiKey.issue(project, ApiKey.Scope.READ)

    page = _page(admin_client, _url(ApiKey, "changelist") + f"?q={plain}")

    assert f"tw_{key.prefix}…" in page
    assert f"tw_{other.prefix}…" not in page
