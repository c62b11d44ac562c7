"""Where the embedded servers keep their data and how other processes find them.

`make run` records the servers' URLs in ``var/servers.json`` so that
``python manage.py ...`` in the same checkout reaches the same database and broker.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def var_dir() -> Path:
    return Path(os.environ.get("TIERWATCH_VAR_DIR") or REPO_ROOT / "var")


def state_file(base: Path | None = None) -> Path:
    return (base or var_dir()) / "servers.json"


@dataclass(frozen=True)
class ServerUrls:
    database_url: str
    redis_url: str


def write_state(urls: ServerUrls, base: Path | None = None) -> None:
    path = state_file(base)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # The database password is in here: readable by the owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(urls), fh)
    tmp.replace(path)


def read_state(base: Path | None = None) -> ServerUrls | None:
    try:
        data = json.loads(state_file(base).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return ServerUrls(database_url=data["database_url"], redis_url=data["redis_url"])


def clear_state(base: Path | None = None) -> None:
    state_file(base).unlink(missing_ok=True)


def package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing (running) it."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {name} package is not installed: pip install -r requirements-local.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False
