"""Real Celery worker processes for the rollup tests, on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db import connection

from monitor.celery import app as celery_app
from monitor.rollups.tasks import QUEUED_FLAG, _redis

REPO = Path(__file__).resolve().parents[2]


def database_url(application_name: str) -> str:
    s = connection.settings_dict
    return (
        f"postgresql://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
        f"?application_name={application_name}"
    )


def start_worker(name: str, tmp_path: Path, **env: str) -> subprocess.Popen[bytes]:
    """A solo-pool worker named ``name`` whose log goes to ``tmp_path/name.log``."""
    environment = {**os.environ, "DATABASE_URL": database_url(name), **env}
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "monitor", "worker", "--pool", "solo", "-l", "warning",
         "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def forget_queued_tasks() -> None:
    """Drop the tasks earlier tests' commits queued, and the flag of the kick among them: left
    set with its task gone, it would keep kicks from queueing a rollup for its lifetime."""
    celery_app.control.purge()
    _redis().delete(QUEUED_FLAG)


def stop(workers: Iterable[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)


def one(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()
