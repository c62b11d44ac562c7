"""`make run`'s launcher: embedded servers, the four processes, demo traffic, a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from monitor.devservers.state import free_port

REPO = Path(__file__).resolve().parents[2]


def _env_without_servers(var: Path) -> dict[str, str]:
    """As on a fresh machine: no DATABASE_URL / REDIS_URL, so the launcher embeds its own."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TIERWATCH_VAR_DIR"}}
    env["TIERWATCH_VAR_DIR"] = str(var)
    env["DEMO_PASSWORD"] = "demo-pass-for-tests"
    return env


def _manage(var: Path, code: str) -> str:
    """`python manage.py shell` in the same checkout, finding the servers through var/."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=_env_without_servers(var),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    var = tmp_path / "var"
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.devservers", "run", "--port", str(port), "--demo", "1", "--var", str(var)],
        cwd=REPO,
        env=_env_without_servers(var),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.5)
        yield process, port, var
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        log.close()


def _cmdline(process: psutil.Process) -> str:
    """A child's command line; a short-lived one may be gone (or a zombie) by the time it is read."""
    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return ""


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_make_run_serves_swagger_takes_demo_traffic_and_stops_everything(running, tmp_path, stop_signal):
    process, port, var = running
    base = f"http://127.0.0.1:{port}"

    docs = httpx.get(f"{base}/api/docs/", timeout=10)
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    login = httpx.get(f"{base}/", timeout=10, follow_redirects=True)
    assert "/login/" in str(login.url) and 'name="username"' in login.text

    # The demo generator posts over HTTP; manage.py in the checkout sees the same database.
    count_rows = (
        "from django.db import connection\n"
        "c = connection.cursor()\n"
        "c.execute('SELECT count(*) FROM raw_records r JOIN store_ingestbatch b ON b.id = r.batch_id "
        "JOIN projects_project p ON p.id = b.project_id WHERE p.slug = %s', ['demo'])\n"
        "print(c.fetchone()[0])"
    )
    deadline = time.monotonic() + 30
    while int(_manage(var, count_rows).splitlines()[-1]) == 0:
        assert time.monotonic() < deadline, "no demo records arrived"
        time.sleep(1)
    assert (var / "servers.json").exists()
    assert "demo / demo-pass-for-tests" in (tmp_path / "run.log").read_text()

    # The worker rolls the demo traffic up: the read API counts it within seconds.
    read_key = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "demo", "--scope", "read"],
        cwd=REPO, env=_env_without_servers(var), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        rows = httpx.get(f"{base}/api/v1/report", headers={"Authorization": f"Bearer {read_key}"}, timeout=10).json()
        if rows["rows"] and sum(row["requests"] for row in rows["rows"]) > 0:
            break
        assert time.monotonic() < deadline, rows
        time.sleep(1)
    assert {row["labels"]["tier"] for row in rows["rows"]} <= {"o3", "4o", "o4-mini"}

    started = psutil.Process(process.pid).children(recursive=True)
    commands = " ".join(_cmdline(p) for p in started)
    for role in (
        "gunicorn",
        "celery -A monitor worker",
        "celery -A monitor beat",
        "simulate",
        "postgres",
        "valkey-server",
    ):
        assert role in commands, f"{role} is not running: {commands}"

    # A chunked body (no Content-Length), as streaming clients send, is read whole.
    key = (var / "demo-ingest-key").read_text().strip()
    body = orjson.dumps({"records": [{"ts": time.time(), "service": "chunked", "tier": "4o", "latency_ms": 5}]})
    chunked = httpx.post(
        f"{base}/api/v1/records",
        content=iter([body[:10], body[10:]]),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert chunked.status_code == 202, chunked.text

    process.send_signal(stop_signal)
    assert process.wait(60) is not None
    _, alive = psutil.wait_procs(started, timeout=20)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    assert not (var / "servers.json").exists()


def test_make_run_refuses_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "monitor.devservers", "run", "--port", str(port), "--var", str(tmp_path / "v")],
            cwd=REPO,
            env=_env_without_servers(tmp_path / "v"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"Port {port} is in use" in result.stderr
