"""Settings helpers fail loudly on values they cannot use."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from monitor.env import database_from_url, env_bool, env_int, env_list


def test_it_reads_a_database_url_with_its_connection_parameters():
    db = database_from_url("postgresql://tw:p%40ss@db.example:6432/metrics?sslmode=verify-full&sslrootcert=/ca.pem")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "tw",
        "p@ss",
        "db.example",
        "6432",
        "metrics",
    )
    assert db["OPTIONS"] == {"sslmode": "verify-full", "sslrootcert": "/ca.pem"}


@pytest.mark.parametrize("url", ["mysql://x@h/db", "postgresql://x@h/", "nonsense"])
def test_it_refuses_a_database_url_it_cannot_use(url):
    with pytest.raises(ImproperlyConfigured):
        database_from_url(url)


def test_it_refuses_a_number_that_is_not_one(monkeypatch):
    monkeypatch.setenv("RAW_RETENTION_DAYS", "seven")
    with pytest.raises(ImproperlyConfigured, match="RAW_RETENTION_DAYS"):
        env_int("RAW_RETENTION_DAYS", 7, minimum=1)


def test_it_refuses_a_number_below_its_minimum(monkeypatch):
    monkeypatch.setenv("RAW_RETENTION_DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("RAW_RETENTION_DAYS", 7, minimum=1)


def test_a_blank_number_means_the_default(monkeypatch):
    monkeypatch.setenv("WEB_TIMEOUT", " ")
    assert env_int("WEB_TIMEOUT", 60) == 60


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_it_reads_booleans(monkeypatch, raw, value):
    monkeypatch.setenv("DEBUG", raw)
    assert env_bool("DEBUG", not value) is value


def test_it_refuses_a_boolean_that_is_not_one(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG", False)


def test_it_reads_comma_separated_lists(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " a.example, b.example ,,")
    assert env_list("ALLOWED_HOSTS") == ["a.example", "b.example"]
