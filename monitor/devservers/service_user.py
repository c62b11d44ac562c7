"""How the embedded servers run: as an unprivileged user when we are root, dying with us.

PostgreSQL refuses to run as root, and Redis should not (it can be told to write
files anywhere). Every server process also gets SIGTERM when the launcher that
started it dies, however it dies, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

SERVICE_USER = "tierwatch"
_PR_SET_PDEATHSIG = 1


def running_as_root() -> bool:
    return os.geteuid() == 0


def ensure_service_user() -> str | None:
    """The user servers run as: None (ourselves) unless we are root."""
    if not running_as_root():
        return None
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


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when our parent dies (Linux; a no-op elsewhere)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def popen_options(user: str | None) -> dict[str, Any]:
    """subprocess options for a server process run as ``user``."""
    options: dict[str, Any] = {"start_new_session": True, "preexec_fn": die_with_parent}
    if user:
        # Drop root's groups too: otherwise root-group permission bits would apply.
        # preexec_fn runs after the switch, which would otherwise clear PDEATHSIG.
        options.update(user=user, group=user, extra_groups=[])
    return options


def give_to(user: str | None, path: Path) -> None:
    if user:
        import shutil

        shutil.chown(path, user, user)


def make_reachable(user: str | None, path: Path) -> None:
    """Let ``user`` traverse every parent folder of ``path``."""
    if not user:
        return
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXOTH
        if wanted != mode:
            parent.chmod(wanted)


def secret_in(path: Path) -> str:
    """A random secret kept in ``path`` (owner-only), made on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    return path.read_text().strip()
