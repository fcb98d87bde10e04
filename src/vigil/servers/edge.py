"""The NATS edge: devices speak MQTT 3.1.1 to the NATS server's own MQTT listener.

Why (docs/ingest.md, *The device edge*): nats-server answers a QoS 1 PUBLISH with PUBACK only
after it has stored the message in its ``$MQTT_msgs`` JetStream stream (``mqttProcessPub``
waits for the stream's own acknowledgement), so a PUBACK means the reading is on the stream's
file store, which a kill -9 of the server does not lose. Ingest reads that stream through one
durable pull consumer (:data:`INGEST_CONSUMER`), shared by every ingest instance, and
acknowledges a message only once its readings are committed.

``$MQTT_msgs`` keeps a message only while a consumer is interested in it (interest retention):
the capture consumer must exist before any device may publish, so the embedded server starts
with no device users, :func:`ensure_capture` makes the consumer, and only then are devices let
in (:func:`write_accounts` and a reload).

Device permissions are the server's: each device user may publish to its own readings subject
(``vigil.v1.devices.<id>.readings``, its topic ``vigil/v1/devices/<id>/readings``) and subscribe
to nothing. A reload (SIGHUP) applies a new user list at once and disconnects a revoked device.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import nats
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from vigil.core.credentials import BrokerUser
from vigil.core.payload import TOPIC_PREFIX, TOPIC_SUFFIX

log = logging.getLogger(__name__)

EDGE_STREAM = "$MQTT_msgs"
"""The stream nats-server keeps QoS 1 and 2 MQTT messages in, per account (its own name)."""
CAPTURE_PREFIX = "$MQTT.msgs."
INGEST_CONSUMER = "vigil-ingest"
"""The durable consumer every ingest instance pulls from (one queue, shared: no shared
subscription to lose across a restart)."""
ACK_WAIT_S = 30.0
"""A message ingest took and did not acknowledge (it died) is offered again after this."""
MAX_ACK_PENDING = 20_000
ACCOUNTS_FILE = "accounts.conf"


def subject_for(topic: str) -> str:
    """The NATS subject of an MQTT topic (nats-server maps '/' to '.'; device ids hold no '.').

    >>> subject_for("vigil/v1/devices/bp-1/readings")
    'vigil.v1.devices.bp-1.readings'
    """
    return topic.replace("/", ".")


def topic_of(subject: str) -> str:
    """The MQTT topic a captured message was published to.

    >>> topic_of("$MQTT.msgs.vigil.v1.devices.bp-1.readings")
    'vigil/v1/devices/bp-1/readings'
    """
    return subject.removeprefix(CAPTURE_PREFIX).replace(".", "/")


CAPTURE_FILTER = CAPTURE_PREFIX + subject_for(f"{TOPIC_PREFIX}*{TOPIC_SUFFIX}")


def accounts_text(account: str, services: dict[str, str], devices: list[BrokerUser]) -> str:
    """The account block: Vigil's service users (no limits) and each device, allowed to publish
    to its own readings subject only. A device without a bcrypt hash is left out."""
    entries = [f'{{user: "{name}", password: "{pw}"}}' for name, pw in sorted(services.items())]
    for dev in devices:
        if dev.edge_password_hash is None:
            log.warning("device %s has no edge credentials: issue them again", dev.name)
            continue
        own = subject_for(f"{TOPIC_PREFIX}{dev.name}{TOPIC_SUFFIX}")
        entries.append(
            f'{{user: "{dev.name}", password: "{dev.edge_password_hash}", permissions: '
            f'{{publish: {{allow: ["{own}"]}}, subscribe: {{deny: [">"]}}}}}}'
        )
    users = ",\n  ".join(entries)
    head = "# written by vigil: do not edit"
    return f"{head}\n{account} {{ jetstream: enabled, users: [\n  {users}\n] }}\n"


def write_accounts(
    root: Path, account: str, services: dict[str, str], devices: list[BrokerUser]
) -> Path:
    path = root / ACCOUNTS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(accounts_text(account, services, devices))
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def reload_edge(root: Path) -> bool:
    """Make the server running from ``root`` read its user list again (SIGHUP). False when none
    runs there."""
    try:
        pid = int((root / "nats-server.pid").read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False
    return True


def capture_config() -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=INGEST_CONSUMER,
        filter_subject=CAPTURE_FILTER,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ACK_WAIT_S,
        max_ack_pending=MAX_ACK_PENDING,
        max_deliver=-1,
    )


def stream_config(replicas: int = 1) -> StreamConfig:
    """``$MQTT_msgs`` as nats-server itself creates it at an account's first MQTT connection
    (server/mqtt.go); made beforehand so that the capture consumer can exist first."""
    return StreamConfig(
        name=EDGE_STREAM,
        subjects=[CAPTURE_PREFIX + ">"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.INTEREST,
        num_replicas=replicas,
    )


async def ensure_capture_async(servers: list[str], *, replicas: int = 1) -> None:
    """Create the edge stream and the durable capture consumer where missing (idempotent)."""
    nc = await nats.connect(servers=servers, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        try:
            await js.stream_info(EDGE_STREAM)
        except NotFoundError:
            await js.add_stream(stream_config(replicas))
        try:
            await js.consumer_info(EDGE_STREAM, INGEST_CONSUMER)
        except NotFoundError:
            await js.add_consumer(EDGE_STREAM, capture_config())
            log.info("created the edge capture consumer %s on %s", INGEST_CONSUMER, EDGE_STREAM)
    finally:
        await nc.close()


def ensure_capture(servers: list[str], *, replicas: int = 1) -> None:
    asyncio.run(ensure_capture_async(servers, replicas=replicas))
