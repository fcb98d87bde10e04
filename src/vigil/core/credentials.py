"""Device credentials: Mosquitto-compatible password hashes.

The database is the source of truth (``devices.mqtt_password_hash``); the broker's password file
is written from it (``vigil.servers.credentials``). Hashes use Mosquitto's ``$7$`` format
(PBKDF2-HMAC-SHA512), so the same string serves both.

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
from dataclasses import dataclass

import bcrypt

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


EDGE_BCRYPT_ROUNDS = 6
"""Cost of the NATS edge's bcrypt hashes (the only hashed form nats-server reads). A device
password is 192 random bits (:func:`new_password`), which no guessing reaches whatever the
cost; the cost is paid by the edge on every device connect, so it stays low."""


def hash_edge_password(password: str, *, rounds: int = EDGE_BCRYPT_ROUNDS) -> str:
    """A bcrypt hash of ``password`` for the NATS edge's user list.

    >>> import bcrypt
    >>> h = hash_edge_password("s3cret", rounds=4)
    >>> h.startswith("$2b$04$"), bcrypt.checkpw(b"s3cret", h.encode())
    (True, True)
    """
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def new_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class BrokerUser:
    name: str
    password_hash: str
    service: bool = False
    """Service users (ingest) read every device topic; devices write only their own."""
    edge_password_hash: str | None = None
    """bcrypt hash for the NATS edge; None for a device provisioned before it (not let in)."""
