"""A device's Nightscout credentials: issued with its MQTT credentials, shown once, kept as
digests.

Nightscout's clients send the API secret as the lowercase hex SHA-1 of it (header
``api-secret``; SHA-512 hex is accepted too), and an access token in clear (``?token=``, or to
``/api/v2/authorization/request/{token}`` for a JWT). Neither the secret nor those header forms
are kept: each is stored as SHA-256 of what the client sends (:func:`digest`), so a copy of the
table is no credential. The secret and token are random (96 and 128 bits), which makes a fast
hash enough (a slow one would only slow every upload).

>>> secret = "0123456789abcdef01234567"
>>> digest(header_form(secret, "sha1")) == digest(hashlib.sha1(secret.encode()).hexdigest())
True
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

import psycopg

Conn = psycopg.Connection[tuple[object, ...]]
TOKEN_PREFIX = "vigil-"  # noqa: S105 (a prefix, not a credential)
"""Nightscout's tokens read ``<subject>-<hex>``; ours name no one."""
MIN_SECRET_CHARS = 12
"""Nightscout refuses an API secret shorter than this."""


@dataclass(frozen=True, slots=True)
class NightscoutSecrets:
    """Shown once at provisioning: only digests are stored."""

    api_secret: str
    access_token: str


def header_form(secret: str, algorithm: Literal["sha1", "sha512"]) -> str:
    """What a Nightscout client sends as ``api-secret`` for ``secret``."""
    return hashlib.new(algorithm, secret.encode()).hexdigest()


def digest(sent: str) -> bytes:
    """What is stored for (and looked up by) a credential as a client sends it."""
    return hashlib.sha256(sent.encode()).digest()


def issue_credentials(conn: Conn, *, device_id: str) -> NightscoutSecrets:
    """Give ``device_id`` a Nightscout API secret and access token (in the caller's
    transaction); revoking the device revokes them."""
    secret = secrets.token_hex(12)
    token = f"{TOKEN_PREFIX}{secrets.token_hex(16)}"
    conn.execute(
        "INSERT INTO nightscout_credentials (device_id, secret_sha1, secret_sha512, token)"
        " VALUES (%s, %s, %s, %s)",
        (
            device_id,
            digest(header_form(secret, "sha1")),
            digest(header_form(secret, "sha512")),
            digest(token),
        ),
    )
    return NightscoutSecrets(secret, token)


SITE_PATH = "/ns"
"""Where the API serves Nightscout (never mixed with Vigil's own /api/v1)."""


def site_answer(base_url: str, issued: NightscoutSecrets) -> dict[str, str]:
    """What provisioning answers beside the MQTT credentials: the Nightscout URL, secret and
    token, and the xDrip+ form of the URL (the secret as the user part).

    >>> issued = NightscoutSecrets("s" * 24, "vigil-t")
    >>> site_answer("https://vigil.example.org/", issued)["xdrip_url"]
    'https://ssssssssssssssssssssssss@vigil.example.org/ns/api/v1/'
    """
    scheme, _, host = base_url.rstrip("/").partition("://")
    return {
        "url": f"{scheme}://{host}{SITE_PATH}",
        "api_secret": issued.api_secret,
        "access_token": issued.access_token,
        "xdrip_url": f"{scheme}://{issued.api_secret}@{host}{SITE_PATH}/api/v1/",
    }
