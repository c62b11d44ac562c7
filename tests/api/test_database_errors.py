"""Database failures: a 503 with Retry-After only while the database cannot be reached; any other error a logged 500.

Both with the contract's body. The errors come from the real database where one can be
provoked (a recursion past the stack depth limit, an unknown table, a backend that is
terminated, a port nothing listens on); the rest of the SQLSTATE table from psycopg's own
error classes, raised where the view would meet them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection, utils
from django.test import Client

from monitor.api.errors import INTERNAL_ERROR, database_unreachable
from monitor.projects.models import Project
from tests.conftest import issue_key, post_records, record

REPORT = "/api/v1/report"
UNREACHABLE = ["08000", "08001", "08003", "08004", "08006", "08P01", "57P01", "57P02", "57P03", "53300"]
OTHER = ["54001", "57014", "42P01", "42601", "40001", "22003", "53100", "55P03"]


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def read_key(project: Project) -> str:
    return issue_key(project, "read")


_PEP_249 = {"InterfaceError", "DatabaseError", "DataError", "OperationalError", "IntegrityError", "InternalError"}
_PEP_249 |= {"ProgrammingError", "NotSupportedError"}


def _psycopg_error(state: str) -> psycopg.Error:
    return psycopg.errors.lookup(state)(f"SQLSTATE {state}")


def _django_error(state: str) -> Exception:
    """As Django raises it: its class of the same name around psycopg's."""
    cause = _psycopg_error(state)
    wrapper = next(getattr(utils, kind.__name__) for kind in type(cause).__mro__ if kind.__name__ in _PEP_249)
    error: Exception = wrapper(str(cause))
    error.__cause__ = cause
    return error


def _report_fails_with(monkeypatch: pytest.MonkeyPatch, fail: Callable[[], Any]) -> None:
    def report(query: Any) -> Any:
        return fail()

    monkeypatch.setattr("monitor.readapi.views.report", report)


def _raise(exc: Exception) -> Callable[[], Any]:
    def fail() -> Any:
        raise exc

    return fail


def _run_sql(sql: str) -> Callable[[], Any]:
    def fail() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    return fail


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) > 0
    body = json.loads(response.content)
    assert body == {"error": "The database is unreachable; retry later.", "details": []}


def assert_logged_500(response: Any, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == 500, response.content
    assert "Retry-After" not in response
    assert json.loads(response.content) == {"error": INTERNAL_ERROR, "details": []}
    logged = [r for r in caplog.records if r.name == "monitor.api.errors" and r.levelno == logging.ERROR]
    assert logged and logged[0].exc_info, caplog.records


# --- which errors mean "unreachable" ------------------------------------------------------------------


@pytest.mark.parametrize("state", UNREACHABLE)
def test_a_connection_sqlstate_means_the_database_is_unreachable(state):
    assert database_unreachable(_psycopg_error(state))
    assert database_unreachable(_django_error(state))


@pytest.mark.parametrize("state", OTHER)
def test_any_other_sqlstate_does_not(state):
    assert not database_unreachable(_psycopg_error(state))
    assert not database_unreachable(_django_error(state))


def test_an_operational_error_without_a_sqlstate_means_no_connection_at_all():
    assert database_unreachable(psycopg.OperationalError("connection refused"))
    assert database_unreachable(OperationalError("connection refused"))
    assert not database_unreachable(ValueError("not a database error"))


# --- what the API answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", UNREACHABLE)
def test_the_read_api_answers_503_with_retry_after_for_a_connection_failure(client, read_key, monkeypatch, state):
    _report_fails_with(monkeypatch, _raise(_django_error(state)))
    assert_unavailable(client.get(REPORT, headers={"Authorization": f"Bearer {read_key}"}))


@pytest.mark.parametrize("state", OTHER)
def test_the_read_api_answers_a_logged_500_for_any_other_database_error(client, read_key, monkeypatch, caplog, state):
    _report_fails_with(monkeypatch, _raise(_django_error(state)))
    assert_logged_500(client.get(REPORT, headers={"Authorization": f"Bearer {read_key}"}), caplog)


@pytest.mark.parametrize(("state", "status"), [("08006", 503), ("57P03", 503), ("54001", 500), ("22P02", 500)])
def test_ingest_maps_psycopgs_own_errors_from_copy_alike(client, ingest_key, monkeypatch, state, status):
    # COPY runs on the raw cursor: its errors arrive as psycopg's classes, not Django's.
    monkeypatch.setattr("monitor.ingest.views.store_batch", lambda *args: _raise(_psycopg_error(state))())
    response = post_records(client, ingest_key, [record()])
    assert response.status_code == status, response.content
    assert ("Retry-After" in response) is (status == 503)


def test_a_real_stack_depth_error_is_a_logged_500_not_a_503(client, read_key, monkeypatch, caplog):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.deeper(n int) RETURNS int LANGUAGE sql AS 'SELECT pg_temp.deeper(n + 1)'"
        )
    _report_fails_with(monkeypatch, _run_sql("SELECT pg_temp.deeper(0)"))
    assert_logged_500(client.get(REPORT, headers={"Authorization": f"Bearer {read_key}"}), caplog)


def test_a_real_unknown_table_is_a_logged_500(client, read_key, monkeypatch, caplog):
    _report_fails_with(monkeypatch, _run_sql("SELECT * FROM no_such_table"))
    assert_logged_500(client.get(REPORT, headers={"Authorization": f"Bearer {read_key}"}), caplog)


@pytest.fixture
def fresh_connection_after() -> Iterator[None]:
    yield
    connection.close()  # the test broke it; the next query connects anew


@pytest.mark.django_db(transaction=True)
def test_a_real_terminated_backend_is_a_503(client, project, monkeypatch, fresh_connection_after):
    key = issue_key(project, "read")
    _report_fails_with(monkeypatch, _run_sql("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert_unavailable(client.get(REPORT, headers={"Authorization": f"Bearer {key}"}))


@pytest.mark.django_db(transaction=True)
def test_a_real_refused_connection_is_a_503(client, project, monkeypatch, fresh_connection_after):
    key = issue_key(project, "read")
    real = dict(connection.settings_dict)

    def refused() -> Any:
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")  # nothing listens on port 1
        try:
            return _run_sql("SELECT 1")()
        finally:
            connection.settings_dict.update(real)

    _report_fails_with(monkeypatch, refused)
    started = time.monotonic()
    assert_unavailable(client.get(REPORT, headers={"Authorization": f"Bearer {key}"}))
    assert time.monotonic() - started < 10
