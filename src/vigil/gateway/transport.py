"""The Bluetooth link, behind a small interface: bleak in production (``bleak_link``), bumble's
virtual link with simulated devices in tests and the demo (``simulated``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

Handler = Callable[[int, bytes], None]
"""Called with the characteristic's 16-bit UUID and the value it indicated or notified."""

SIG_BASE_UUID = "0000{:04x}-0000-1000-8000-00805f9b34fb"


def full_uuid(uuid16: int) -> str:
    return SIG_BASE_UUID.format(uuid16)


class Link(Protocol):
    """A connection to one device."""

    disconnected: asyncio.Event

    def has(self, uuid16: int) -> bool:
        """Whether the device offers this characteristic."""
        ...

    async def subscribe(self, uuid16: int, handler: Handler) -> None:
        """Enable indications (or notifications, whichever the characteristic has)."""
        ...

    async def write(self, uuid16: int, value: bytes) -> None:
        """Write with response (the Record Access Control Point)."""
        ...

    async def disconnect(self) -> None: ...


class Transport(Protocol):
    async def connect(self, *, address: str | None, name: str | None, pair: bool) -> Link:
        """Find the device by address or name and connect (bonding first if ``pair``: health
        devices mostly indicate only over an encrypted link); raises on failure."""
        ...

    async def close(self) -> None: ...
