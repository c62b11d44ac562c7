"""`make run` and `make test`: the embedded servers plus the processes that use them.

run   starts PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set),
      migrates, creates the demo login, then runs web (gunicorn), worker, beat
      and the demo generator until Ctrl-C or SIGTERM, and stops them all.
test  starts throw-away servers on free ports in a scratch folder and runs
      pytest against them, so it never touches a running `make run`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .postgres import EmbeddedPostgres
from .redis import EmbeddedRedis
from .service_user import die_with_parent
from .state import REPO_ROOT, ServerUrls, clear_state, read_state, var_dir, wait_for_port, write_state

PYTHON = sys.executable


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


@contextmanager
def embedded_servers(folder: Path, *, fast: bool = False) -> Iterator[ServerUrls]:
    """Servers for whichever of DATABASE_URL / REDIS_URL is not set; stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "log").mkdir(exist_ok=True)
    postgres = redis = None
    try:
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = EmbeddedPostgres(folder / "pg", fast=fast)
            postgres.start(folder / "log" / "postgres.log")
            database_url = postgres.url
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis = EmbeddedRedis(folder / "redis")
            redis.start(folder / "log" / "redis.log")
            redis_url = redis.url
        yield ServerUrls(database_url=database_url, redis_url=redis_url)
    finally:
        # Reverse order of start; each stop waits for its server to exit.
        if redis:
            redis.stop()
        if postgres:
            postgres.stop()


def _manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, str(REPO_ROOT / "manage.py"), *args],
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def _refuse_to_start(port: int, folder: Path) -> str | None:
    import socket

    recorded = read_state(folder)
    if recorded is not None:
        pg_port = int(recorded.database_url.rsplit(":", 1)[1].split("/")[0])
        if wait_for_port(pg_port, timeout=0.2):
            return f"Tierwatch already runs with the data in {folder} (stop it first, or use another --var)."
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return f"Port {port} is in use; choose another, e.g. make run PORT=8123."
    return None


ROLES = ("web", "worker", "beat")


def run(port: int, demo: bool, folder: Path, roles: tuple[str, ...] = ROLES) -> int:
    from honcho.manager import Manager

    problem = _refuse_to_start(port, folder)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    die_with_parent()
    for stop_signal in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(stop_signal, _raise_stop)
    print(f"Tierwatch: starting (data in {folder})", flush=True)
    try:
        with embedded_servers(folder) as urls:
            write_state(urls, folder)
            env = {
                **os.environ,
                "DATABASE_URL": urls.database_url,
                "REDIS_URL": urls.redis_url,
                "TIERWATCH_VAR_DIR": str(folder),
                "PORT": str(port),
                "PYTHONUNBUFFERED": "1",
            }
            _manage(env, "migrate", "--noinput", "-v", "0")
            login = _manage(env, "bootstrap_demo", "--secrets-dir", str(folder), capture=True).strip()
            key = (folder / "demo-ingest-key").read_text().strip()

            manager = Manager()
            bin_dir = Path(PYTHON).parent
            commands = {
                "web": f"{bin_dir}/gunicorn -c python:monitor.gunicorn monitor.wsgi",
                "worker": f"{bin_dir}/celery -A monitor worker -l info -c 2",
                "beat": f"{bin_dir}/celery -A monitor beat -l info -s {folder / 'celerybeat-schedule'}",
            }
            for role in roles:
                manager.add_process(role, commands[role], env=env, cwd=str(REPO_ROOT))
            if demo:
                manager.add_process(
                    "demo",
                    f"{PYTHON} manage.py simulate --url http://127.0.0.1:{port}",
                    env={**env, "TIERWATCH_INGEST_KEY": key},  # not on the command line, where `ps` shows it
                    cwd=str(REPO_ROOT),
                )
            _banner(port, login, demo)
            # honcho takes over Ctrl-C / SIGTERM from here and stops every process it
            # started; a closed terminal (SIGHUP) must do the same.
            signal.signal(signal.SIGHUP, lambda signum, frame: manager.terminate())
            manager.loop()
            return manager.returncode or 0
    except _Stop:
        return 130
    finally:
        clear_state(folder)
        print("Tierwatch: stopped.", flush=True)


def _banner(port: int, login: str, demo: bool) -> None:
    lines = [
        "",
        f"  Tierwatch is starting on http://127.0.0.1:{port}/",
        f"  Log in as {login.removeprefix('demo user: ')}",
        f"  API docs: http://127.0.0.1:{port}/api/docs/",
        "  Demo traffic: " + ("on (simulate)" if demo else "off (DEMO=0)"),
        "  Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)


def test(pytest_args: list[str]) -> int:
    die_with_parent()
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _raise_stop)
    scratch = Path(tempfile.mkdtemp(prefix="tierwatch-test-"))
    try:
        with embedded_servers(scratch, fast=True) as urls:
            env = {
                **os.environ,
                "DATABASE_URL": urls.database_url,
                "REDIS_URL": urls.redis_url,
                "TIERWATCH_VAR_DIR": str(scratch),
            }
            return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], env=env, cwd=REPO_ROOT).returncode
    except _Stop:
        return 143
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.devservers")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run the whole stack (make run)")
    run_parser.add_argument("--port", type=int, default=8000)
    run_parser.add_argument("--demo", type=int, choices=[0, 1], default=1)
    run_parser.add_argument("--var", type=Path, default=None, help="data folder (default: var/)")
    run_parser.add_argument(
        "--roles", default=",".join(ROLES), help="processes to run, from web,worker,beat (benchmarks run web alone)"
    )
    test_parser = sub.add_parser("test", help="run pytest against throw-away servers (make test)")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args, unknown = parser.parse_known_args(argv)
    if args.command == "run":
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        roles = tuple(role for role in args.roles.split(",") if role)
        if not roles or set(roles) - set(ROLES):
            parser.error(f"--roles takes names from {','.join(ROLES)}")
        return run(args.port, bool(args.demo), (args.var or var_dir()).resolve(), roles)
    return test(unknown + args.pytest_args)


__all__ = ["embedded_servers", "main", "wait_for_port"]
