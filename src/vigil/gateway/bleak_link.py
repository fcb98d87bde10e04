"""The production transport: bleak (BlueZ over D-Bus on Linux, CoreBluetooth, WinRT).

With ``pair = true`` (the default) the gateway bonds with the device on connecting, as most
health devices require before they indicate; a device that needs a passkey is paired once with
the system's tools (``bluetoothctl pair``) instead. The gateway connects by address or finds
the device by its advertised name.
"""

from __future__ import annotations

import asyncio
import logging

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic

from vigil.gateway.transport import Handler, full_uuid

log = logging.getLogger(__name__)
SCAN_TIMEOUT_S = 20.0


class BleakLink:
    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.disconnected = asyncio.Event()

    def has(self, uuid16: int) -> bool:
        return self.client.services.get_characteristic(full_uuid(uuid16)) is not None

    async def subscribe(self, uuid16: int, handler: Handler) -> None:
        def on_value(_: BleakGATTCharacteristic, data: bytearray) -> None:
            handler(uuid16, bytes(data))

        await self.client.start_notify(full_uuid(uuid16), on_value)

    async def write(self, uuid16: int, value: bytes) -> None:
        await self.client.write_gatt_char(full_uuid(uuid16), value, response=True)

    async def disconnect(self) -> None:
        await self.client.disconnect()
        self.disconnected.set()


class BleakTransport:
    async def connect(self, *, address: str | None, name: str | None, pair: bool) -> BleakLink:
        link: BleakLink | None = None

        def gone(_: BleakClient) -> None:
            if link is not None:
                link.disconnected.set()

        if address is not None:
            client = BleakClient(address, disconnected_callback=gone, pair=pair)
        else:
            assert name is not None
            device = await BleakScanner.find_device_by_name(name, timeout=SCAN_TIMEOUT_S)
            if device is None:
                raise ConnectionError(f"no device named {name!r} in range")
            client = BleakClient(device, disconnected_callback=gone, pair=pair)
        await client.connect()
        link = BleakLink(client)
        return link

    async def close(self) -> None:
        return None
