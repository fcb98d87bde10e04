"""Helpers shared by the embedded servers: free ports, running as the postgres user."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

from vigil.core.errors import ServerStartError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_user() -> str | None:
    """PostgreSQL refuses to run as root: as root we run it as ``postgres``."""
    return "postgres" if os.geteuid() == 0 else None


def as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerStartError("running as root needs runuser to start servers as postgres")
    return [runuser, "-u", user, "--", *cmd]


def give_to(path: Path, user: str | None) -> None:
    """Make ``path`` (recursively) owned by ``user`` and reachable by it."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def run(cmd: list[str], *, what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ServerStartError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc
