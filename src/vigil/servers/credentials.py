"""The broker's password file and ACL, written from the database's device credentials."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from vigil.core.credentials import BrokerUser
from vigil.core.payload import TOPIC_PREFIX, TOPIC_SUFFIX


def write_password_file(path: Path, users: Iterable[BrokerUser]) -> None:
    """Atomically replace the broker's password file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{u.name}:{u.password_hash}\n" for u in users))
    tmp.chmod(0o600)
    os.replace(tmp, path)


def write_acl_file(path: Path, service_users: Iterable[str]) -> None:
    """Devices may publish only to their own topic (the ``%u`` pattern); services may read all."""
    lines = ["# written by vigil: do not edit", ""]
    for name in service_users:
        lines += [f"user {name}", f"topic read {TOPIC_PREFIX}+{TOPIC_SUFFIX}", ""]
    lines += [f"pattern write {TOPIC_PREFIX}%u{TOPIC_SUFFIX}", ""]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines))
    tmp.chmod(0o600)
    os.replace(tmp, path)
