"""Simulated Bluetooth health devices on bumble's virtual link: real GATT servers (a cuff, a
glucose meter with a Record Access Control Point, ...) and a real GATT client, in one process.
Tests and the demo run the gateway against them through :class:`SimulatedTransport`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import Connection, Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from vigil.gateway import encode
from vigil.gateway.characteristics import RECORD_ACCESS_CONTROL_POINT
from vigil.gateway.config import DeviceConfig, Kind, Simulated
from vigil.gateway.decode_glucose import GLUCOSE_CONTEXT, GLUCOSE_MEASUREMENT
from vigil.gateway.decode_vitals import BLOOD_PRESSURE_MEASUREMENT
from vigil.gateway.racp import (
    NO_RECORDS_FOUND,
    OPERATOR_ALL,
    OPERATOR_AT_LEAST,
    REPORT_STORED_RECORDS,
    RESPONSE_CODE,
    SUCCESS,
    parse_request,
)
from vigil.gateway.transport import Handler

log = logging.getLogger(__name__)
GLUCOSE_SERVICE, BLOOD_PRESSURE_SERVICE = 0x1808, 0x1810
CENTRAL_ADDRESS = "F0:00:00:00:00:01"
CONNECT_TIMEOUT_S = 10.0


def _uuid(uuid16: int) -> UUID:
    return UUID.from_16_bits(uuid16)


def _device(link: LocalLink, address: str, name: str) -> Device:
    controller = Controller(name, link=link, public_address=address)
    return Device(
        name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
    )


def cuff_records(sim: Simulated) -> list[bytes]:
    """The cuff's stored measurements: the same for the same settings (a restart sees them
    again, as a real cuff that was never told to forget them)."""
    rng = random.Random(sim.seed)
    out = []
    for i in range(sim.records):
        systolic = rng.randint(112, 168)
        diastolic = rng.randint(68, min(104, systolic - 20))
        out.append(
            encode.blood_pressure(
                systolic,
                diastolic,
                ts=sim.start + timedelta(minutes=i * sim.every_min),
                pulse=rng.randint(58, 96),
                user=1,
                status=0,
            )
        )
    return out


def meter_records(sim: Simulated) -> list[tuple[int, bytes, bytes | None]]:
    """The meter's stored records: (sequence number, measurement, context or None); every third
    carries a meal's carbohydrate."""
    rng = random.Random(sim.seed)
    out = []
    for i in range(sim.records):
        seq = i + 1
        mgdl = rng.randint(70, 260)
        carbs = rng.randint(20, 90) if i % 3 == 0 else None
        measurement = encode.glucose(
            seq,
            sim.start + timedelta(minutes=i * sim.every_min),
            Decimal(mgdl).scaleb(-5),
            offset_min=0,
            context_follows=carbs is not None,
        )
        context = (
            encode.glucose_context(seq, carbs_kg=Decimal(carbs).scaleb(-3), meal=1)
            if carbs is not None
            else None
        )
        out.append((seq, measurement, context))
    return out


class _Peripheral:
    """A simulated device: a bumble Device on the link and the tasks sending its records."""

    def __init__(self, link: LocalLink, cfg: DeviceConfig, sim: Simulated, name: str) -> None:
        assert cfg.address is not None
        self.device = _device(link, cfg.address, cfg.name or name)
        self.interval = sim.interval_ms / 1000
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class SimulatedCuff(_Peripheral):
    """Indicates every stored measurement once a gateway subscribes (what cuffs do)."""

    def __init__(self, link: LocalLink, cfg: DeviceConfig, sim: Simulated) -> None:
        super().__init__(link, cfg, sim, "Vigil sim cuff")
        self.records = cuff_records(sim)
        self.measurement = Characteristic(
            _uuid(BLOOD_PRESSURE_MEASUREMENT),
            Characteristic.Properties.INDICATE,
            Characteristic.Permissions.READABLE,
            b"",
        )
        self.device.add_service(Service(_uuid(BLOOD_PRESSURE_SERVICE), [self.measurement]))
        self.device.on("characteristic_subscription", self._subscribed)

    def _subscribed(self, connection: Connection, characteristic: Any, _n: bool, ind: bool) -> None:
        if characteristic is self.measurement and ind:
            self._spawn(self._send(connection))

    async def _send(self, connection: Connection) -> None:
        for value in self.records:
            await self.device.indicate_subscriber(connection, self.measurement, value)
            if self.interval:
                await asyncio.sleep(self.interval)


class SimulatedMeter(_Peripheral):
    """A glucose meter: stored records sent on a Record Access Control Point request."""

    def __init__(self, link: LocalLink, cfg: DeviceConfig, sim: Simulated) -> None:
        super().__init__(link, cfg, sim, "Vigil sim meter")
        self.records = meter_records(sim)
        self.requests: list[bytes] = []
        notify = Characteristic.Properties.NOTIFY
        self.measurement = Characteristic(
            _uuid(GLUCOSE_MEASUREMENT), notify, Characteristic.Permissions.READABLE, b""
        )
        self.context = Characteristic(
            _uuid(GLUCOSE_CONTEXT), notify, Characteristic.Permissions.READABLE, b""
        )
        self.racp: Characteristic[bytes] = Characteristic(
            _uuid(RECORD_ACCESS_CONTROL_POINT),
            Characteristic.Properties.WRITE | Characteristic.Properties.INDICATE,
            Characteristic.Permissions.WRITEABLE,
            CharacteristicValue(write=self._on_racp),
        )
        self.device.add_service(
            Service(_uuid(GLUCOSE_SERVICE), [self.measurement, self.context, self.racp])
        )

    def _on_racp(self, connection: Connection, value: bytes) -> None:
        self.requests.append(bytes(value))
        self._spawn(self._report(connection, bytes(value)))

    async def _report(self, connection: Connection, request: bytes) -> None:
        op, operator, low = parse_request(request)
        if op != REPORT_STORED_RECORDS or operator not in (OPERATOR_ALL, OPERATOR_AT_LEAST):
            code = 4  # operator not supported
        else:
            chosen = [r for r in self.records if operator == OPERATOR_ALL or r[0] >= (low or 0)]
            for _, measurement, context in chosen:
                await self.device.notify_subscriber(connection, self.measurement, measurement)
                if context is not None:
                    await self.device.notify_subscriber(connection, self.context, context)
                if self.interval:
                    await asyncio.sleep(self.interval)
            code = SUCCESS if chosen else NO_RECORDS_FOUND
        response = bytes([RESPONSE_CODE, 0, op, code])
        await self.device.indicate_subscriber(connection, self.racp, response)


Simulator = SimulatedCuff | SimulatedMeter

SIMULATORS: dict[
    Kind, Callable[[LocalLink, DeviceConfig, Simulated], SimulatedCuff | SimulatedMeter]
] = {
    Kind.BLOOD_PRESSURE: SimulatedCuff,
    Kind.GLUCOSE: SimulatedMeter,
}


class BumbleLink:
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.disconnected = asyncio.Event()
        peer.connection.on("disconnection", lambda *_: self.disconnected.set())

    def _characteristic(self, uuid16: int) -> Any:
        found = self.peer.get_characteristics_by_uuid(_uuid(uuid16))
        return found[0] if found else None

    def has(self, uuid16: int) -> bool:
        return self._characteristic(uuid16) is not None

    async def subscribe(self, uuid16: int, handler: Handler) -> None:
        characteristic = self._characteristic(uuid16)
        indicate = bool(characteristic.properties & Characteristic.Properties.INDICATE)
        await self.peer.subscribe(
            characteristic, lambda value: handler(uuid16, bytes(value)), prefer_notify=not indicate
        )

    async def write(self, uuid16: int, value: bytes) -> None:
        await self.peer.write_value(self._characteristic(uuid16), value, with_response=True)

    async def disconnect(self) -> None:
        await self.peer.connection.disconnect()


class SimulatedTransport:
    """The gateway's central and the configured simulated devices on one virtual link."""

    def __init__(self, devices: list[DeviceConfig]) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.central = _device(self.link, CENTRAL_ADDRESS, "Vigil gateway")
        self.peripherals: dict[str, Simulator] = {}
        for cfg in devices:
            if cfg.simulate is None or cfg.kind not in SIMULATORS:
                raise ValueError(f"{cfg.label}: no simulator for a {cfg.kind} device")
            assert cfg.address is not None
            self.peripherals[cfg.address] = SIMULATORS[cfg.kind](self.link, cfg, cfg.simulate)
        self._started = False
        self._connecting = asyncio.Lock()
        """One connection set up at a time (as one radio does): power-on and the link layer's
        connection procedure are not re-entrant."""

    async def _start(self) -> None:
        if self._started:
            return
        await self.central.power_on()
        for sim in self.peripherals.values():
            await sim.device.power_on()
            await sim.device.start_advertising(auto_restart=True, advertising_interval_min=20.0)
        self._started = True

    async def connect(self, *, address: str | None, name: str | None, pair: bool) -> BumbleLink:
        """``pair`` is not simulated: the virtual devices accept an unencrypted link."""
        if address not in self.peripherals:
            raise ConnectionError(f"no simulated device at {address or name}")
        async with self._connecting:
            await self._start()
            connection = await self.central.connect(Address(address), timeout=CONNECT_TIMEOUT_S)
            peer = Peer(connection)
            await peer.discover_services()
            await peer.discover_characteristics()
            return BumbleLink(peer)

    async def close(self) -> None:
        for sim in self.peripherals.values():
            sim.stop()
