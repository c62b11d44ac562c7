"""An embedded PostgreSQL server run from the binaries in the `pgserver` wheel."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

from .state import free_port, package_dir, wait_for_port

# PostgreSQL refuses to run as root; when we are root it runs as this system user.
SERVICE_USER = "tierwatch"
DATABASE = "tierwatch"
SUPERUSER = "tierwatch"


def _bin_dir() -> Path:
    # Located without importing pgserver: its import has side effects we do not want.
    return package_dir("pgserver") / "pginstall" / "bin"


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _ensure_service_user() -> str:
    import pwd

    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


def _make_reachable(path: Path) -> None:
    """Let the service user traverse every parent folder of ``path``."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXOTH
        if wanted != mode:
            parent.chmod(wanted)


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``, listening on 127.0.0.1 only.

    ``fast`` turns fsync off: for the throw-away servers of the test suite only,
    never for `make run` or a benchmark.
    """

    def __init__(self, data_dir: Path, *, port: int | None = None, fast: bool = False) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.fast = fast
        self.process: subprocess.Popen[bytes] | None = None
        self._user = _ensure_service_user() if _running_as_root() else None

    @property
    def password_file(self) -> Path:
        return self.data_dir.parent / "pg-password"

    @property
    def url(self) -> str:
        password = self.password_file.read_text().strip()
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{DATABASE}"

    def _as_service_user(self) -> dict[str, Any]:
        # Drop root's groups too: otherwise root-group permission bits would apply.
        return {"user": self._user, "group": self._user, "extra_groups": []} if self._user else {}

    def _chown(self, path: Path) -> None:
        if self._user:
            shutil.chown(path, self._user, self._user)

    def _initdb(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(24))
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.data_dir)
        pwfile = self.data_dir.parent / ".initdb-pw"
        shutil.copyfile(self.password_file, pwfile)
        self._chown(pwfile)
        if self._user:
            _make_reachable(self.data_dir.parent)
            _make_reachable(_bin_dir())
        try:
            result = subprocess.run(
                [
                    str(_bin_dir() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--pwfile",
                    str(pwfile),
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                capture_output=True,
                text=True,
                **self._as_service_user(),
            )
            if result.returncode != 0:
                raise RuntimeError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, log_path: Path) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "200",
            "shared_buffers": "256MB",
            "fsync": "off" if self.fast else "on",
            "synchronous_commit": "off" if self.fast else "on",
            "full_page_writes": "off" if self.fast else "on",
        }
        args = [str(_bin_dir() / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed in stop()
        self._log = log
        # A session of its own: Ctrl-C in the terminal reaches the launcher, which
        # stops the web and workers before the database they write to.
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **self._as_service_user()
        )
        if not wait_for_port(self.port, timeout=60):
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start; see {log_path}")
        self._create_database()

    def _create_database(self) -> None:
        import psycopg

        admin_url = self.url.rsplit("/", 1)[0] + "/postgres"
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(admin_url, autocommit=True)
                break
            except psycopg.OperationalError:
                # The port opens a moment before the server accepts logins.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown: roll back clients, checkpoint, exit.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        log = getattr(self, "_log", None)
        if log:
            log.close()
