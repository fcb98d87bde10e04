"""Resolve the database, broker and stream server Vigil talks to: configured or embedded."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from vigil.core.credentials import BrokerUser
from vigil.core.errors import ServerStartError
from vigil.servers import edge
from vigil.servers.mosquitto import EmbeddedMosquitto, reload_broker
from vigil.servers.nats import SERVICE_USER, EmbeddedNats, split_servers
from vigil.servers.supervisor import (
    Supervised,
    Supervisor,
    supervise_mosquitto,
    supervise_nats,
    supervise_postgres,
)
from vigil.settings import Settings
from vigil.storage.admin import list_broker_users


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where a Vigil service connects, and under which prefix the devices' topics appear there.

    ``mqtt://user:pass@host:port/edge/``: the path is the mount point of the broker's device
    listener (the embedded broker's is ``edge/``); none for a broker without one."""

    host: str
    port: int
    username: str
    password: str
    mount_point: str = ""

    @classmethod
    def from_url(cls, url: str) -> MqttTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"broker URL must look like mqtt://user:pass@host:port, got {url!r}")
        mount = parts.path.lstrip("/")
        if mount and not mount.endswith("/"):
            mount += "/"
        return cls(
            parts.hostname, parts.port or 1883, parts.username or "", parts.password or "", mount
        )


@dataclass
class Servers:
    database_url: str
    mqtt: MqttTarget
    nats_url: str
    """nats://user:password@host:port (comma-separated for a cluster: see ``split_servers``)."""
    device_port: int
    """The port devices connect to (the embedded broker's device listener; for a configured
    broker, the port of its URL)."""
    broker_root: Path | None = None
    """Folder of the embedded broker (password file, ACL), None for an external broker."""
    _stack: ExitStack = field(default_factory=ExitStack)
    edge: str = "mosquitto"
    """``nats``: devices publish to the NATS server's MQTT listener and ingest reads
    ``nats_url`` (vigil.servers.edge); ``mosquitto``: ingest subscribes to ``mqtt``."""
    supervisor: Supervisor | None = None
    """Restarts the embedded servers this process started, should they die."""

    def close(self) -> None:
        self._stack.close()


ALL_SERVERS = frozenset({"database", "broker", "nats"})


def start_servers(
    settings: Settings, *, needs: frozenset[str] = ALL_SERVERS, supervise: bool = True
) -> Servers:
    """Start what is not configured (under ``settings.state_dir``) and return where to connect.

    ``needs``: the servers the caller's stages use ("database", "broker", "nats"); others are
    not started (a detect worker starts no broker; its ``mqtt`` is then a placeholder that
    nothing connects to, port 0). With ``supervise``, the embedded servers this process started
    are restarted should they die (:class:`vigil.servers.supervisor.Supervisor`), from
    start-up until :meth:`Servers.close`.
    """
    from vigil.servers.postgres import EmbeddedPostgres

    stack = ExitStack()
    watched: list[Supervised] = []
    try:
        db_url = settings.database_url
        if db_url is None:
            pg = EmbeddedPostgres(settings.state_dir.resolve() / "postgres")
            if pg.running_port() is None:
                watched.append(supervise_postgres(pg))
            stack.enter_context(pg)
            db_url = pg.url()
        broker_root = None
        if settings.edge == "nats":
            servers = _nats_edge(settings, db_url, stack, watched)
            servers.supervisor = _supervisor(watched, stack, supervise=supervise)
            return servers
        if settings.mqtt_url is None and "broker" not in needs:
            broker_root = settings.state_dir.resolve() / "mosquitto"  # another process's
            mqtt = MqttTarget("127.0.0.1", 0, "", "")
            device_port = 0
        elif settings.mqtt_url is None:
            broker_root = settings.state_dir.resolve() / "mosquitto"
            tls = settings.mqtt_device_tls_certfile, settings.mqtt_device_tls_keyfile
            broker = EmbeddedMosquitto(
                broker_root,
                device_host=settings.mqtt_device_host,
                device_tls=(tls[0].resolve(), tls[1].resolve()) if tls[0] and tls[1] else None,
            )
            broker.service_password(settings.mqtt_client_id)
            broker.write_auth(_device_users(db_url))
            if broker.running_ports() is None:
                watched.append(supervise_mosquitto(broker))
            stack.enter_context(broker)
            mqtt = MqttTarget.from_url(broker.url(settings.mqtt_client_id))
            device_port = broker.port
        else:
            mqtt = MqttTarget.from_url(settings.mqtt_url)
            if settings.mqtt_password is not None:
                mqtt = MqttTarget(
                    mqtt.host,
                    mqtt.port,
                    mqtt.username,
                    settings.mqtt_password.get_secret_value(),
                    mqtt.mount_point,
                )
            device_port = mqtt.port
        nats_url = settings.nats_url
        if nats_url:
            split_servers(nats_url)  # a malformed URL fails here, not at the first publish
        elif "nats" not in needs:
            nats_url = ""
        else:
            nats = EmbeddedNats(
                settings.state_dir.resolve() / "nats", binary=settings.nats_server_bin
            )
            if nats.running_ports() is None:
                watched.append(supervise_nats(nats))
            nats_url = stack.enter_context(nats).url
        supervisor = _supervisor(watched, stack, supervise=supervise)
    except BaseException:
        stack.close()
        raise
    return Servers(db_url, mqtt, nats_url, device_port, broker_root, stack, supervisor=supervisor)


def _supervisor(
    watched: list[Supervised], stack: ExitStack, *, supervise: bool
) -> Supervisor | None:
    """Start restarting the ``watched`` servers should they die, until ``stack`` closes."""
    if not (supervise and watched):
        return None
    supervisor = Supervisor(watched)
    supervisor.start()
    stack.callback(supervisor.stop)  # first out: no restart while the servers stop
    return supervisor


def open_edge(nats: EmbeddedNats, devices: list[BrokerUser]) -> None:
    """Make the capture consumer, then let the devices in (vigil.servers.edge: a device's
    PUBACKed message is kept only if the consumer already exists)."""
    edge.ensure_capture(split_servers(nats.url))
    nats.devices = devices
    nats.reload()


def _nats_edge(
    settings: Settings, db_url: str, stack: ExitStack, watched: list[Supervised]
) -> Servers:
    """Servers for the NATS edge: the given NATS (whose operator runs its MQTT listener and
    user list, docs/deployment.md; ``mqtt_url`` then says where devices connect), or the
    embedded one with the listener on ``mqtt_device_host``, added to ``watched`` when this
    process starts it (restarted should it die, like the other embedded servers)."""
    if settings.nats_url:
        servers = split_servers(settings.nats_url)
        edge.ensure_capture(servers, replicas=settings.stream_replicas)
        mqtt = MqttTarget.from_url(settings.mqtt_url or "mqtt://127.0.0.1:1883")
        return Servers(db_url, mqtt, settings.nats_url, mqtt.port, None, stack, edge="nats")
    nats = _embedded_edge(settings)
    if nats.running_ports() is None:
        watched.append(supervise_nats(nats))
    stack.enter_context(nats)
    if not nats.mqtt_port:
        raise ServerStartError(
            f"the NATS server already running from {nats.root} has no MQTT listener (started"
            " before the NATS edge was the default): stop it, or set VIGIL_MQTT_EDGE=mosquitto"
        )
    open_edge(nats, _device_users(db_url))
    mqtt = MqttTarget("127.0.0.1", nats.mqtt_port, SERVICE_USER, nats.service_password())
    return Servers(db_url, mqtt, nats.url, nats.mqtt_port, nats.root, stack, edge="nats")


def _embedded_edge(settings: Settings) -> EmbeddedNats:
    """The embedded NATS server with the device edge on ``mqtt_device_host`` (loopback unless
    a TLS pair is set, as for the embedded Mosquitto)."""
    tls = settings.mqtt_device_tls_certfile, settings.mqtt_device_tls_keyfile
    root = settings.state_dir.resolve() / "nats"
    return EmbeddedNats(
        root,
        binary=settings.nats_server_bin,
        mqtt_port=0,
        mqtt_host=settings.mqtt_device_host,
        mqtt_tls=(tls[0].resolve(), tls[1].resolve()) if tls[0] and tls[1] else None,
    )


def _device_users(db_url: str) -> list[BrokerUser]:
    """Devices for the broker's password file. Migrations are the callers' (once, at their
    start-up); a database not migrated yet has no devices."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT to_regclass('devices') IS NOT NULL").fetchone()
        return list_broker_users(conn) if row is not None and row[0] else []


def sync_broker_credentials(conn: psycopg.Connection[tuple[object, ...]], root: Path) -> bool:
    """Rewrite the embedded broker's password file from the database and make it reload.

    Returns False when no broker runs in ``root`` (the file is still written for its next start).
    """
    if (root / edge.ACCOUNTS_FILE).exists():
        nats = EmbeddedNats(root)
        for secret in sorted(root.glob("*.secret")):
            nats.service_password(secret.stem)
        nats.devices = list_broker_users(conn)
        return nats.reload()
    broker = EmbeddedMosquitto(root)
    for secret in sorted(root.glob("*.secret")):
        broker.service_password(secret.stem)
    broker.write_auth(list_broker_users(conn))
    return reload_broker(root)
