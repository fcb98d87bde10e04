"""Broker identities: who may be a device and who is a service (the one home of the rule).

A device's id is its broker user name and client id. Vigil's own broker users (ingest, the
benchmark's subscribers, any later service) live in a namespace that no device id can take:
names beginning with ``vigil-`` or ``vigil_``, compared case-insensitively. The same rule is
checked by the API, the CLI, the storage layer and a database CHECK (migration 0007), and the
broker's password file is written services first, never with a second line for a name.

>>> check_device_id("ox-0001")
'ox-0001'
>>> try:
...     check_device_id("vigil-ingest")
... except ReservedIdentity as exc:
...     print(str(exc)[:37])
device id 'vigil-ingest' is reserved:
>>> is_service_name("vigil-ingest-2"), is_service_name("VIGIL_x"), is_service_name("vigilant-7")
(True, True, False)
"""

from __future__ import annotations

import re

from vigil.core.errors import InvalidInput

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
"""Letters, digits, '-' and '_': a single MQTT topic level and a password-file user name."""
SERVICE_PREFIXES = ("vigil-", "vigil_")
"""Reserved for Vigil's own broker users (compared case-insensitively)."""


class InvalidIdentity(InvalidInput, ValueError):
    """A device id or service name breaks the identity rule; the message says how."""


class ReservedIdentity(InvalidIdentity):
    """A device id in the service namespace."""


def is_service_name(name: str) -> bool:
    return name.lower().startswith(SERVICE_PREFIXES)


def check_device_id(device_id: str) -> str:
    """``device_id`` if a device may have it, else :class:`InvalidIdentity` with the reason."""
    if not DEVICE_ID_RE.match(device_id):
        raise InvalidIdentity("device id must be 3-64 letters, digits, '-' or '_'")
    if is_service_name(device_id):
        raise ReservedIdentity(
            f"device id {device_id!r} is reserved: ids beginning with 'vigil-' or 'vigil_' are"
            " Vigil's own service users"
        )
    return device_id


def check_service_name(name: str) -> str:
    """``name`` if it is a valid service user name, else :class:`InvalidIdentity`."""
    if not DEVICE_ID_RE.match(name) or not is_service_name(name):
        raise InvalidIdentity(
            f"service user {name!r} must begin with 'vigil-' or 'vigil_' (3-64 letters, digits,"
            " '-' or '_'), the namespace no device id can take"
        )
    return name
