"""Start (or target) a running Tierwatch for a benchmark: everything `make run` starts."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.devservers.state import free_port, read_state  # noqa: E402


class Stack:
    """`python -m monitor.devservers run` in a scratch folder; stopped on exit."""

    def __init__(self, demo: bool = True, roles: str = "web,worker,beat") -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tierwatch-bench-"))
        self.port = free_port()
        self.demo = demo
        self.roles = roles
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Stack:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        self.log = open(self.folder / "stack.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor.devservers", "run", "--port", str(self.port), "--demo", str(int(self.demo)),
             "--var", str(self.folder), "--roles", self.roles],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited; see {self.folder / 'stack.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the stack did not become ready in 180 s")

    @property
    def ingest_key(self) -> str:
        return (self.folder / "demo-ingest-key").read_text().strip()

    @property
    def database_url(self) -> str:
        state = read_state(self.folder)
        assert state is not None
        return state.database_url

    @property
    def redis_url(self) -> str:
        state = read_state(self.folder)
        assert state is not None
        return state.redis_url

    def manage(self, *args: str) -> str:
        """``python manage.py ARGS`` against the stack's database; its stdout."""
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
               "TIERWATCH_VAR_DIR": str(self.folder)}  # fmt: skip
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True, capture_output=True, text=True
        )
        return result.stdout

    def start_workers(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        """A Celery worker on the stack's database and broker (for a stack run without one)."""
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
               "TIERWATCH_VAR_DIR": str(self.folder)}  # fmt: skip
        log = open(self.folder / "worker.log", "wb")  # noqa: SIM115 - handed to the worker process
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "monitor", "worker", "-l", "warning", "-c", str(concurrency)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop every process the stack started; its data folder stays."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)
