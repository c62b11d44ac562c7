"""Operations commands: create_project, create_api_key, revoke_api_key and bootstrap_demo (in dashboards)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from monitor.annotations.models import Annotation
from monitor.api.keys import resolve_key
from monitor.catalogue.models import ModelVersion, Price, Tier
from monitor.catalogue.seeds import DEPRECATED_DEMO_MODEL
from monitor.projects.models import ApiKey, Membership, Project
from monitor.projects.services import create_project
from tests.conftest import issue_key, post_records, record
from tests.ingest.helpers import counts

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_PRICES = {"o3": Decimal("0.15"), "4o": Decimal("0.08"), "o4-mini": Decimal("0.03")}
PLAIN_KEY = re.compile(r"tw_[a-z0-9]{8}[A-Za-z0-9_-]{32}")


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _prices(project: Project) -> dict[str, Decimal]:
    return {
        price.tier.name: price.per_call
        for price in Price.objects.filter(project=project, model__isnull=True).select_related("tier")
        if price.tier is not None
    }


# --- create_project ------------------------------------------------------------------


def test_create_project_seeds_the_three_tiers_and_their_per_call_prices(owner):
    out, _ = run("create_project", "newco", owner=owner.username)
    project = Project.objects.get(slug="newco")
    assert "newco" in out
    assert set(Tier.objects.filter(project=project).values_list("name", flat=True)) == {"o3", "4o", "o4-mini"}
    assert _prices(project) == SEED_PRICES
    assert Price.objects.filter(project=project).count() == 3
    assert project.currency == "CNY"


def test_create_project_makes_the_owner_an_owner_member(owner):
    run("create_project", "newco", "--owner", owner.username)
    project = Project.objects.get(slug="newco")
    memberships = list(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert memberships == [(owner.username, Membership.Role.OWNER)]


def test_create_project_without_an_owner_has_no_members(db):
    run("create_project", "lonely")
    project = Project.objects.get(slug="lonely")
    assert not Membership.objects.filter(project=project).exists()
    assert _prices(project) == SEED_PRICES


def test_create_project_refuses_an_existing_slug_and_names_it(project, outsider):
    with pytest.raises(CommandError, match="acme"):
        run("create_project", "acme", owner=outsider.username)
    assert Project.objects.filter(slug="acme").count() == 1
    assert not Membership.objects.filter(project=project, user=outsider).exists()
    assert Tier.objects.filter(project=project).count() == 3


def test_create_project_refuses_an_unknown_owner_and_creates_nothing(db):
    with pytest.raises(CommandError, match="nobody"):
        run("create_project", "newco", owner="nobody")
    assert not Project.objects.filter(slug="newco").exists()


@pytest.mark.parametrize("slug", ["not a slug", "has/slash", "dot.ted", "", "ünï"])
def test_create_project_refuses_an_invalid_slug(db, slug):
    with pytest.raises(CommandError):
        run("create_project", slug)
    assert not Project.objects.exists()


# --- create_api_key ------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["ingest", "read", "admin"])
def test_create_api_key_prints_the_key_alone(project, scope):
    out, _ = run("create_api_key", "acme", scope=scope)
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert out == lines[0] + "\n"
    plain = lines[0]
    assert PLAIN_KEY.fullmatch(plain), plain
    row = ApiKey.objects.get(prefix=plain[3:11])
    assert (row.project_id, row.scope, row.revoked_at) == (project.pk, scope, None)
    principal = resolve_key(plain)
    assert principal is not None and principal.project_id == project.pk and principal.scope == scope


def test_an_ingest_key_from_the_command_posts_records(client, project):
    out, _ = run("create_api_key", "acme", "--scope", "ingest")
    response = post_records(client, out.strip(), [record(), record()])
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 2}
    assert counts(project.pk)["rows"] == 2


@pytest.mark.parametrize("scope", ["read", "admin"])
def test_a_key_without_the_ingest_scope_cannot_post_records(client, project, scope):
    out, _ = run("create_api_key", "acme", "--scope", scope)
    assert post_records(client, out.strip(), [record()]).status_code == 403
    assert counts(project.pk)["rows"] == 0


def test_create_api_key_refuses_an_unknown_project(db):
    with pytest.raises(CommandError, match="nope"):
        run("create_api_key", "nope", scope="ingest")
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("scope", ["write", "INGEST", ""])
def test_create_api_key_refuses_a_bad_scope(project, scope):
    with pytest.raises(CommandError, match="scope"):
        run("create_api_key", "acme", f"--scope={scope}")
    assert not ApiKey.objects.exists()


def test_create_api_key_needs_a_scope(project):
    with pytest.raises(CommandError, match="scope"):
        run("create_api_key", "acme")
    assert not ApiKey.objects.exists()


def _test_database_url() -> str:
    """DATABASE_URL pointing at the test database this session uses."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + quote(connection.settings_dict["NAME"])))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_create_api_key_run_as_a_process_writes_only_the_key_to_stdout(project):
    # What a shell script sees: KEY=$(python manage.py create_api_key acme --scope ingest)
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    done = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "acme", "--scope", "ingest"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert PLAIN_KEY.fullmatch(done.stdout.rstrip("\n")), done.stdout
    assert done.stdout.count("\n") == 1
    plain = done.stdout.strip()
    principal = resolve_key(plain)
    assert principal is not None and principal.project_id == project.pk and principal.scope == "ingest"


# --- revoke_api_key ------------------------------------------------------------------


@pytest.mark.parametrize("form", ["prefix", "tw_prefix", "whole key"])
def test_a_revoked_key_gets_401_from_the_ingest_endpoint(client, project, settings, form):
    settings.API_KEY_CACHE_SECONDS = 0
    plain = issue_key(project)
    other = issue_key(project)
    assert post_records(client, plain, [record()]).status_code == 202
    argument = {"prefix": plain[3:11], "tw_prefix": plain[:11], "whole key": plain}[form]
    out, _ = run("revoke_api_key", argument)
    assert plain[3:11] in out
    assert ApiKey.objects.get(prefix=plain[3:11]).revoked_at is not None
    response = post_records(client, plain, [record()])
    assert response.status_code == 401
    assert set(response.json()) == {"error", "details"}
    # Only that key: another key of the project still works.
    assert post_records(client, other, [record()]).status_code == 202
    assert counts(project.pk)["rows"] == 2


def test_revoking_a_revoked_key_changes_nothing(project):
    row, plain = ApiKey.issue(project, "ingest")
    run("revoke_api_key", plain[3:11])
    first = ApiKey.objects.get(pk=row.pk).revoked_at
    out, _ = run("revoke_api_key", plain[3:11])
    assert "already" in out
    assert ApiKey.objects.get(pk=row.pk).revoked_at == first


@pytest.mark.parametrize("argument", ["zzzzzzzz", "tw_zzzzzzzz", "tw_zzzzzzzzAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_revoke_api_key_refuses_an_unknown_prefix(project, argument):
    row, _ = ApiKey.issue(project, "ingest")
    with pytest.raises(CommandError, match="zzzzzzzz"):
        run("revoke_api_key", argument)
    assert ApiKey.objects.get(pk=row.pk).revoked_at is None


# --- bootstrap_demo ------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _demo_state() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "projects": Project.objects.count(),
        "memberships": Membership.objects.count(),
        "keys": ApiKey.objects.count(),
        "tiers": Tier.objects.count(),
        "models": ModelVersion.objects.count(),
        "prices": Price.objects.count(),
        "annotations": Annotation.objects.count(),
    }


def test_bootstrap_demo_uses_demo_password_from_the_environment(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a-chosen-demo-pass")
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    assert User.objects.get(username="demo").check_password("a-chosen-demo-pass")


def test_bootstrap_demo_generates_a_password_in_a_private_file(db, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out, _ = run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    password_file = tmp_path / "demo-password"
    password = password_file.read_text().strip()
    assert len(password) >= 12
    assert _mode(password_file) == 0o600
    assert User.objects.get(username="demo").check_password(password)
    assert password in out  # printed for the operator


def test_bootstrap_demo_makes_the_demo_project_owned_by_demo(db, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    project = Project.objects.get(slug="demo")
    assert list(Membership.objects.filter(project=project).values_list("user__username", "role")) == [
        ("demo", Membership.Role.OWNER)
    ]
    assert _prices(project) == SEED_PRICES


def test_bootstrap_demo_writes_an_ingest_key_that_works(client, db, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    key_file = tmp_path / "demo-ingest-key"
    assert _mode(key_file) == 0o600
    plain = key_file.read_text().strip()
    assert PLAIN_KEY.fullmatch(plain), plain
    project = Project.objects.get(slug="demo")
    row = ApiKey.objects.get(prefix=plain[3:11])
    assert (row.project_id, row.scope) == (project.pk, "ingest")
    response = post_records(client, plain, [record(tier="o4-mini")])
    assert response.status_code == 202, response.content
    assert counts(project.pk)["rows"] == 1


def test_bootstrap_demo_annotates_the_start_of_the_demo_once(db, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    project = Project.objects.get(slug="demo")
    assert list(Annotation.objects.filter(project=project).values_list("text", flat=True)) == ["Demo traffic started"]


def test_bootstrap_demo_deprecates_the_old_4o_version(db, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    old = ModelVersion.objects.get(project__slug="demo", name=DEPRECATED_DEMO_MODEL)
    assert old.lifecycle == ModelVersion.Lifecycle.DEPRECATED
    assert old.tier.name == "4o"
    assert old.sunset_date is not None


def test_bootstrap_demo_twice_creates_nothing_new_and_keeps_key_and_password(client, db, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    state = _demo_state()
    password = (tmp_path / "demo-password").read_text()
    key = (tmp_path / "demo-ingest-key").read_text()
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    assert _demo_state() == state
    assert (tmp_path / "demo-password").read_text() == password
    assert (tmp_path / "demo-ingest-key").read_text() == key
    assert User.objects.get(username="demo").check_password(password.strip())
    assert ApiKey.objects.get(prefix=key.strip()[3:11]).revoked_at is None
    assert post_records(client, key.strip(), [record()]).status_code == 202


def test_bootstrap_demo_twice_with_demo_password_keeps_it(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a-chosen-demo-pass")
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    state = _demo_state()
    key = (tmp_path / "demo-ingest-key").read_text()
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    assert _demo_state() == state
    assert (tmp_path / "demo-ingest-key").read_text() == key
    assert User.objects.get(username="demo").check_password("a-chosen-demo-pass")


def test_bootstrap_demo_replaces_a_revoked_demo_key(client, db, tmp_path, monkeypatch, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    old = (tmp_path / "demo-ingest-key").read_text().strip()
    run("revoke_api_key", old)
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    new = (tmp_path / "demo-ingest-key").read_text().strip()
    assert new != old
    assert _mode(tmp_path / "demo-ingest-key") == 0o600
    assert post_records(client, old, [record()]).status_code == 401
    assert post_records(client, new, [record()]).status_code == 202


def test_bootstrap_demo_deprecates_the_old_version_when_ingest_registered_it_first(client, db, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    User.objects.create_user("demo", password="whatever-it-was")
    project = create_project("demo", "demo")
    plain = issue_key(project)
    assert post_records(client, plain, [record(tier="4o", model=DEPRECATED_DEMO_MODEL)]).status_code == 202
    assert ModelVersion.objects.get(project=project, name=DEPRECATED_DEMO_MODEL).lifecycle == "active"
    run("bootstrap_demo", "--secrets-dir", str(tmp_path))
    old = ModelVersion.objects.get(project=project, name=DEPRECATED_DEMO_MODEL)
    assert old.lifecycle == ModelVersion.Lifecycle.DEPRECATED and old.sunset_date is not None
    assert Project.objects.filter(slug="demo").count() == 1
