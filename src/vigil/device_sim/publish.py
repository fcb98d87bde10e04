"""Enrol the simulated patients the way an administrator does, then publish as their devices.

Enrolment goes through a :class:`Provisioner` (the administrator's calls: tenant, patient,
device, assignment, broker reload); :class:`AdminProvisioner` is the real one, on
``vigil.storage.admin``. Publishing uses one paho-mqtt 2 client per device, MQTT 5, QoS 1,
client id and user name = device id. With ``speed`` S, simulated time runs S times faster than
the wall clock (a message published at simulated second x goes out x / S wall seconds after
the run's start); without it, messages go out as fast as the broker takes them, in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from vigil.device_sim.models import SimOutput

log = logging.getLogger(__name__)


class Credentials(Protocol):
    @property
    def device_id(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def topic(self) -> str: ...


class Provisioner(Protocol):
    """The administrator's enrolment calls, as the simulator needs them."""

    def create_tenant(self, *, name: str) -> UUID: ...

    def create_patient(
        self, *, tenant_id: UUID, display_name: str, conditions: list[str]
    ) -> UUID: ...

    def provision_device(
        self, *, tenant_id: UUID, device_id: str | None, kind: str
    ) -> Credentials: ...

    def assign_device(self, *, device_id: str, patient_id: UUID, valid_from: datetime) -> None: ...

    def reload_broker(self) -> None:
        """Make the broker accept the new devices' credentials."""
        ...


class AdminProvisioner:
    """The real provisioner: ``vigil.storage.admin`` on one connection, committed per patient."""

    def __init__(self, database_url: str, broker_root: Path | None) -> None:
        import psycopg

        self._conn = psycopg.connect(database_url, autocommit=True)
        self._broker_root = broker_root

    def create_tenant(self, *, name: str) -> UUID:
        from vigil.storage import admin

        with self._conn.transaction():
            return admin.create_tenant(self._conn, name=name)

    def create_patient(self, *, tenant_id: UUID, display_name: str, conditions: list[str]) -> UUID:
        from vigil.storage import admin

        with self._conn.transaction():
            return admin.create_patient(
                self._conn, tenant_id=tenant_id, display_name=display_name, conditions=conditions
            )

    def provision_device(self, *, tenant_id: UUID, device_id: str | None, kind: str) -> Credentials:
        from vigil.storage import admin

        with self._conn.transaction():
            return admin.provision_device(
                self._conn, tenant_id=tenant_id, device_id=device_id, kind=kind
            )

    def assign_device(self, *, device_id: str, patient_id: UUID, valid_from: datetime) -> None:
        from vigil.storage import admin

        with self._conn.transaction():
            admin.assign_device(
                self._conn, device_id=device_id, patient_id=patient_id, valid_from=valid_from
            )

    def reload_broker(self) -> None:
        if self._broker_root is None:
            log.warning("external broker: its password file must be refreshed by its operator")
            return
        from vigil.servers.stack import sync_broker_credentials

        if not sync_broker_credentials(self._conn, self._broker_root):
            log.warning("no embedded broker running in %s to reload", self._broker_root)

    def close(self) -> None:
        self._conn.close()


@dataclass(slots=True)
class Enrolment:
    tenant_id: UUID
    patients: dict[str, UUID]
    """Simulated patient id -> the patient id the system gave it."""
    devices: dict[str, Credentials]
    """Simulated device id -> the credentials it publishes with."""


def enrol(provisioner: Provisioner, output: SimOutput, *, run_id: str) -> Enrolment:
    """Create a tenant for the run, its patients and devices, assigned from before the first
    reading. Device ids are ``{run_id}-{simulated id}`` so that runs never collide."""
    tenant = provisioner.create_tenant(name=f"sim {run_id}")
    valid_from = output.start - timedelta(days=1)
    patients: dict[str, UUID] = {}
    devices: dict[str, Credentials] = {}
    for p in output.patients:
        conditions = [c for c in p["conditions"] if c != "healthy"]
        patient_id = provisioner.create_patient(
            tenant_id=tenant, display_name=f"{p['patient']} ({run_id})", conditions=conditions
        )
        patients[p["patient"]] = patient_id
        for d in p["devices"]:
            creds = provisioner.provision_device(
                tenant_id=tenant, device_id=f"{run_id}-{d['device_id']}", kind=d["kind"]
            )
            provisioner.assign_device(
                device_id=creds.device_id, patient_id=patient_id, valid_from=valid_from
            )
            devices[d["device_id"]] = creds
    provisioner.reload_broker()
    log.info("enrolled %d patients, %d devices as run %s", len(patients), len(devices), run_id)
    return Enrolment(tenant, patients, devices)


def wall_offsets(output: SimOutput, speed: float | None) -> list[float]:
    """Seconds after the start of publishing at which each message goes out."""
    if not speed:
        return [0.0] * len(output.messages)
    start = output.start.timestamp()
    return [max(0.0, (_epoch(m["publish_at"]) - start) / speed) for m in output.messages]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def message_bytes(line: dict[str, Any]) -> bytes:
    """What the device puts on the wire for one readings.jsonl line."""
    import json

    if line["malformed"]:
        return str(line["payload_raw"]).encode()
    return json.dumps(line["payload"], separators=(",", ":")).encode()


@dataclass(slots=True)
class PublishReport:
    messages: int = 0
    malformed: int = 0
    unacknowledged: int = 0
    seconds: float = 0.0
    per_device: dict[str, int] = field(default_factory=dict)


class _DeviceClient:
    """One device's MQTT connection."""

    def __init__(self, creds: Credentials, host: str, port: int) -> None:
        from paho.mqtt.client import Client, MQTTv311
        from paho.mqtt.enums import CallbackAPIVersion

        self.creds = creds
        self.connected = threading.Event()
        self.failure: str | None = None
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=creds.device_id,
            # MQTT 3.1.1: what both edges take (the NATS edge speaks no MQTT 5).
            protocol=MQTTv311,
        )
        self.client.username_pw_set(creds.device_id, creds.password)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.connect_async(host, port, keepalive=60)
        self.client.loop_start()
        self.pending: list[Any] = []

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.failure = str(reason)
            log.error("device %s refused by the broker: %s", self.creds.device_id, reason)
        self.connected.set()

    def publish(self, payload: bytes) -> None:
        self.pending.append(self.client.publish(self.creds.topic, payload, qos=1))

    def finish(self, deadline: float) -> int:
        """Wait for the broker's PUBACKs until ``deadline``; return how many never came."""
        missing = 0
        for info in self.pending:
            left = deadline - time.monotonic()
            if left > 0:
                info.wait_for_publish(timeout=left)
            missing += 0 if info.is_published() else 1
        self.client.disconnect()
        self.client.loop_stop()
        return missing


def publish(
    output: SimOutput,
    devices: dict[str, Credentials],
    *,
    host: str,
    port: int,
    speed: float | None = None,
    connect_timeout_s: float = 10.0,
    ack_timeout_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishReport:
    """Publish every message of ``output`` as its device, paced by ``speed``."""
    clients = {sim_id: _DeviceClient(creds, host, port) for sim_id, creds in devices.items()}
    report = PublishReport()
    began = time.monotonic()
    interrupted = False
    try:
        for c in clients.values():
            if not c.connected.wait(connect_timeout_s) or c.failure:
                raise ConnectionError(
                    f"device {c.creds.device_id} could not connect: {c.failure or 'timeout'}"
                )
        for line, offset in zip(output.messages, wall_offsets(output, speed), strict=True):
            wait = began + offset - time.monotonic()
            if wait > 0:
                sleep(wait)
            clients[line["device_id"]].publish(message_bytes(line))
            report.messages += 1
            report.malformed += bool(line["malformed"])
            report.per_device[line["device_id"]] = report.per_device.get(line["device_id"], 0) + 1
    except BaseException:
        interrupted = True  # Ctrl-C or a failure: count what is unacknowledged, do not wait
        raise
    finally:
        deadline = time.monotonic() + (0.0 if interrupted else ack_timeout_s)
        for c in clients.values():
            report.unacknowledged += c.finish(deadline)
        report.seconds = time.monotonic() - began
    log.info(
        "published %d messages (%d malformed) in %.1f s, %d unacknowledged",
        report.messages,
        report.malformed,
        report.seconds,
        report.unacknowledged,
    )
    return report


def expected_counts(output: SimOutput) -> dict[str, int]:
    """What ingest should end with: distinct stored rows (device, metric, time), and
    malformed messages (each rejected whole)."""
    rows: set[tuple[str, str, str]] = set()
    malformed: set[tuple[str, str]] = set()
    for line in output.messages:
        if line["malformed"]:
            malformed.add((line["device_id"], line["payload_raw"]))
            continue
        for item in line["payload"]["readings"]:
            if item["metric"] == "blood_pressure":
                names = ["bp_systolic", "bp_diastolic"]
                names += ["heart_rate"] if item.get("pulse") is not None else []
            else:
                names = [item["metric"]]
            rows.update((line["device_id"], n, item["ts"]) for n in names)
    return {"stored_rows": len(rows), "malformed_messages": len(malformed)}
