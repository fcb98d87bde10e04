"""Broker credentials: Mosquitto-compatible password hashes, the password file and the ACL.

The database is the source of truth (``devices.mqtt_password_hash``); the broker's password file
is written from it. Hashes use Mosquitto's ``$7$`` format (PBKDF2-HMAC-SHA512), so the same
string serves both.

>>> h = hash_password("s3cret", iterations=101, salt=b"0123456789ab")
>>> h.startswith("$7$101$MDEyMzQ1Njc4OWFi$")
True
>>> verify_password("s3cret", h), verify_password("wrong", h)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vigil.core.payload import TOPIC_PREFIX, TOPIC_SUFFIX

PBKDF2_ITERATIONS = 1000
"""Each device connect costs one hash on the broker's single thread; 1000 keeps a fleet's
reconnect storm cheap while being ten times Mosquitto's own default of 101."""


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes = b"") -> str:
    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    try:
        _, kind, iterations, salt_b64, digest_b64 = hashed.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    digest = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), base64.b64decode(salt_b64), int(iterations)
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def new_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class BrokerUser:
    name: str
    password_hash: str
    service: bool = False
    """Service users (ingest) read every device topic; devices write only their own."""


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
