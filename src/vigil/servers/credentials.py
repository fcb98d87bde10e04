"""The broker's password file and ACL, written from the database's device credentials."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from vigil.core.credentials import BrokerUser
from vigil.core.identities import is_service_name
from vigil.core.payload import TOPIC_PREFIX, TOPIC_SUFFIX

log = logging.getLogger(__name__)

DEVICE_MOUNT_POINT = "edge/"
"""Every topic of a client on the device listener lives under this prefix (Mosquitto's
``mount_point``): a device's ``$share/...``, ``$SYS/#`` or ``#`` subscription becomes an ordinary
filter under ``edge/`` (``edge/$share/...`` is no shared subscription), so no device can join or
starve ingest's subscription, whatever it subscribes to. Ingest, on the service listener, reads
``edge/vigil/v1/devices/+/readings``. Measured on Mosquitto 2.0.11: its ACL file grants every
SUBSCRIBE (``#``, ``$share/<ingest group>/...``, ``$SYS/#``, even with ``deny`` rules) and only
filters at delivery, which is how a device could take half of a shared group's messages; see
docs/ingest.md."""


def password_file_users(users: Iterable[BrokerUser]) -> list[BrokerUser]:
    """The lines the password file may hold: one per name, service users first.

    Mosquitto lets the last of two lines for one name win, so a device sharing a service's name
    would take over its password, ACL and persistent session. A device line in the service
    namespace, or for a name already written, is left out and logged (the database's CHECK and
    the provisioning checks should make this unreachable; this is the last guard)."""
    ordered = sorted(users, key=lambda u: not u.service)
    kept: list[BrokerUser] = []
    names: set[str] = set()
    for user in ordered:
        if user.name in names or (not user.service and is_service_name(user.name)):
            log.error("broker user %r left out of the password file: name taken", user.name)
            continue
        names.add(user.name)
        kept.append(user)
    return kept


def write_password_file(path: Path, users: Iterable[BrokerUser]) -> None:
    """Atomically replace the broker's password file (see :func:`password_file_users`)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{u.name}:{u.password_hash}\n" for u in password_file_users(users)))
    tmp.chmod(0o600)
    os.replace(tmp, path)


def write_device_acl_file(path: Path) -> None:
    """The device listener's ACL: a device may publish to its own topic only (``%u``), under
    the listener's mount point (Mosquitto checks ACLs against the mounted topic). No read rule:
    whatever a device subscribes to, nothing is delivered to it."""
    _write(
        path,
        [
            "# written by vigil: do not edit",
            f"pattern write {DEVICE_MOUNT_POINT}{TOPIC_PREFIX}%u{TOPIC_SUFFIX}",
            "",
        ],
    )


def write_service_acl_file(path: Path, service_users: Iterable[str]) -> None:
    """The service listener's ACL: services read every device's readings topic."""
    lines = ["# written by vigil: do not edit", ""]
    for name in service_users:
        lines += [
            f"user {name}",
            f"topic read {DEVICE_MOUNT_POINT}{TOPIC_PREFIX}+{TOPIC_SUFFIX}",
            "",
        ]
    _write(path, lines)


def _write(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    tmp.chmod(0o600)
    os.replace(tmp, path)
