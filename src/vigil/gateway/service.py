"""``vigil gateway run``: connect to each configured device, subscribe to its measurements,
ask a glucose meter for its stored records, queue every reading on disk, publish to Vigil."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from datetime import UTC, datetime, timedelta, tzinfo

from vigil.gateway.characteristics import RECORD_ACCESS_CONTROL_POINT, decode
from vigil.gateway.config import MEASUREMENTS, DeviceConfig, GatewayConfig, Kind
from vigil.gateway.decode_glucose import GLUCOSE_CONTEXT, GLUCOSE_MEASUREMENT
from vigil.gateway.errors import DecodeError
from vigil.gateway.publisher import Publisher
from vigil.gateway.queue import DiskQueue
from vigil.gateway.racp import RESPONSES, parse_response, report_request
from vigil.gateway.transport import Transport

log = logging.getLogger(__name__)


class Receiver:
    """Turns one device's indications and notifications into queued readings."""

    def __init__(
        self, device: DeviceConfig, queue: DiskQueue, publisher: Publisher, tz: tzinfo
    ) -> None:
        self.device = device
        self.queue = queue
        self.publisher = publisher
        self.tz = tz
        self.glucose_times: dict[int, datetime] = {}
        self.racp_done = asyncio.Event()
        self.refused = 0
        self.queued = 0
        self.failed = 0
        self._last_stamp: datetime | None = None

    def _stamp(self) -> datetime:
        """The receive time, to the millisecond and strictly increasing: each value without a
        time stamp of its own is a reading of its own (a strap notifies about once a second)."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return now

    def on_value(self, uuid16: int, data: bytes) -> None:
        """The Bluetooth stack's callback: nothing escapes it (one bad value, or a disk error,
        must not stop the device's link); a failure is logged with the value and counted."""
        try:
            self._on_value(uuid16, data)
        except Exception:
            self.failed += 1
            log.exception(
                "device %s: value %04X %s not queued", self.device.device_id, uuid16, data.hex()
            )

    def _on_value(self, uuid16: int, data: bytes) -> None:
        received_at = self._stamp()
        if uuid16 == RECORD_ACCESS_CONTROL_POINT:
            response = parse_response(data)
            if response is not None:
                log.info(
                    "device %s: stored records: %s",
                    self.device.device_id,
                    RESPONSES.get(response[1], f"response {response[1]}"),
                )
                self.racp_done.set()
            return
        try:
            decoded = decode(uuid16, data, self.tz)
        except DecodeError as exc:
            self.refused += 1
            log.warning("device %s: value refused: %s (%s)", self.device.device_id, exc, data.hex())
            return
        if decoded.details:
            log.debug("device %s: %04X details %s", self.device.device_id, uuid16, decoded.details)
        if uuid16 == GLUCOSE_MEASUREMENT and decoded.sequence is not None and decoded.readings:
            ts = decoded.readings[0].ts
            if ts is not None:
                self.glucose_times[decoded.sequence] = ts
        if uuid16 == GLUCOSE_CONTEXT and decoded.sequence in self.glucose_times:
            ts = self.glucose_times[decoded.sequence]
            decoded.readings = [dataclasses.replace(r, ts=ts) for r in decoded.readings]
        if not decoded.readings:
            return
        payload = decoded.payload(received_at)
        first_ts = payload["readings"][0]["ts"]
        key = f"{uuid16:04X}:{'' if decoded.sequence is None else decoded.sequence}:{first_ts}"
        added = self.queue.enqueue(
            device_id=self.device.device_id,
            key=key,
            payload=payload,
            glucose_sequence=decoded.sequence if uuid16 == GLUCOSE_MEASUREMENT else None,
        )
        if added:
            self.queued += 1
            self.publisher.wake()


async def serve_device(
    cfg: GatewayConfig,
    device: DeviceConfig,
    transport: Transport,
    queue: DiskQueue,
    publisher: Publisher,
) -> None:
    tz = cfg.zone()
    failures = 0
    while True:
        try:
            link = await transport.connect(
                address=device.address, name=device.name, pair=device.pair
            )
        except Exception as exc:  # out of range, switched off: try again later
            failures += 1
            # Said once, then quietly: a cuff is out of range most of the day.
            log.log(
                logging.INFO if failures == 1 else logging.DEBUG,
                "device %s: not connected (%s); retrying every %g s",
                device.label,
                exc,
                cfg.reconnect_s,
            )
            await asyncio.sleep(cfg.reconnect_s)
            continue
        failures = 0
        log.info("device %s (%s): connected", device.label, device.device_id)
        receiver = Receiver(device, queue, publisher, tz)
        try:
            for uuid16 in MEASUREMENTS[device.kind]:
                if link.has(uuid16):
                    await link.subscribe(uuid16, receiver.on_value)
            if device.kind is Kind.GLUCOSE and link.has(RECORD_ACCESS_CONTROL_POINT):
                await link.subscribe(RECORD_ACCESS_CONTROL_POINT, receiver.on_value)
                after = queue.glucose_cursor(device.device_id)
                await link.write(RECORD_ACCESS_CONTROL_POINT, report_request(after))
            await link.disconnected.wait()
        except Exception:
            log.exception("device %s: link failed", device.label)
            with contextlib.suppress(Exception):
                await link.disconnect()
        await asyncio.sleep(cfg.reconnect_s)


def make_transport(cfg: GatewayConfig) -> Transport:
    if cfg.transport == "simulated":
        from vigil.gateway.simulated import SimulatedTransport

        return SimulatedTransport(cfg.devices)
    from vigil.gateway.bleak_link import BleakTransport

    return BleakTransport()


async def run(cfg: GatewayConfig, stop: asyncio.Event) -> None:
    queue = DiskQueue(cfg.queue_path)
    transport = make_transport(cfg)
    publishers = {d.device_id: Publisher(cfg, d, queue) for d in cfg.devices}
    tasks = []
    for device in cfg.devices:
        publisher = publishers[device.device_id]
        publisher.start()
        tasks.append(asyncio.create_task(publisher.run()))
        tasks.append(asyncio.create_task(serve_device(cfg, device, transport, queue, publisher)))
    queued, delivered = queue.counts()
    log.info(
        "gateway: %d devices; %d readings queued from before, %d delivered remembered",
        len(cfg.devices),
        queued,
        delivered,
    )
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(p.drain() for p in publishers.values()))
        for p in publishers.values():
            p.stop()
        await transport.close()
        queue.close()


def run_gateway(cfg: GatewayConfig) -> int:
    """Run until SIGTERM or SIGINT; 0 on a clean stop."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run(cfg, stop)

    asyncio.run(main())
    return 0
