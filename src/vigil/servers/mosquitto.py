"""A private Mosquitto broker, configured for no loss, with password file and ACL."""

from __future__ import annotations

import getpass
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.credentials import BrokerUser, hash_password, new_password
from vigil.core.errors import ServerStartError
from vigil.core.identities import check_service_name
from vigil.core.payload import MAX_PAYLOAD_BYTES
from vigil.servers.credentials import (
    DEVICE_MOUNT_POINT,
    write_device_acl_file,
    write_password_file,
    write_service_acl_file,
)
from vigil.servers.process import free_port

log = logging.getLogger(__name__)

# Chosen on purpose (Mosquitto's defaults drop silently past 1000 queued messages per client and
# save its persistence file only every 30 minutes):
MAX_QUEUED_MESSAGES = 10_000_000
"""Per offline/slow subscriber: weeks of readings for a large fleet before anything is dropped.
Devices never subscribe, so only Vigil's own ingest sessions ever hold queues."""
MAX_INFLIGHT_MESSAGES = 1000
"""Unacknowledged QoS 1 messages in flight from a device to the broker (and to an MQTT 3 client);
an MQTT 5 client's own Receive Maximum sets its window instead (ingest asks for 65,535)."""
AUTOSAVE_INTERVAL_S = 5
"""How often the in-memory store is written to disk (a broker crash can lose at most this)."""


MAX_PACKET_SIZE = MAX_PAYLOAD_BYTES + 65_536
"""The contract's 1 MiB payload plus room for the topic and properties: the broker refuses a
larger PUBLISH at the edge (it disconnects the client, as MQTT 5 says; a client that resends
it on every reconnect stays stuck on it) and logs it, counted by :func:`broker_refusals`."""
OVERSIZE = re.compile(r"Client (\S+) disconnected due to oversize packet")


def broker_refusals(root: Path) -> Counter[str]:
    """Oversize packets the broker refused, per client, from its log (the operator's trace)."""
    try:
        text = (root / "mosquitto.log").read_text(errors="replace")
    except FileNotFoundError:
        return Counter()
    return Counter(m.group(1) for m in OVERSIZE.finditer(text))


def config_text(
    *,
    root: Path,
    port: int,
    service_port: int,
    device_host: str = "127.0.0.1",
    device_tls: tuple[Path, Path] | None = None,
) -> str:
    """Two listeners: devices on ``device_host:port`` (their own password file and ACL, under
    the mount point; MQTT over TLS only when ``device_tls`` (certificate, key) is given),
    Vigil's services on loopback ``service_port`` (theirs). A device's credentials do not work
    on the service listener, nor a service's on the device listener."""
    tls = (
        [
            f"certfile {device_tls[0]}",
            f"keyfile {device_tls[1]}",
            "tls_version tlsv1.2",  # the oldest accepted; 1.3 is negotiated when both can
        ]
        if device_tls
        else []
    )
    return "\n".join(
        [
            "per_listener_settings true",
            # Run as whoever started us (Mosquitto would otherwise switch to its own user when
            # started as root and could not read the files it is given).
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {root}/",
            f"autosave_interval {AUTOSAVE_INTERVAL_S}",
            "persistent_client_expiration 30d",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}",
            "max_queued_bytes 0",
            f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
            f"max_packet_size {MAX_PACKET_SIZE}",
            "retain_available false",
            "set_tcp_nodelay true",
            f"pid_file {root / 'mosquitto.pid'}",
            f"log_dest file {root / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",  # its reload line: reload_broker waits for it
            # On: a client disconnected for an oversize packet is logged only as a connection
            # message ("disconnected due to oversize packet"), the refusal's one trace.
            "connection_messages true",
            "",
            "# devices",
            f"listener {port} {device_host}",
            *tls,
            f"mount_point {DEVICE_MOUNT_POINT}",
            "allow_anonymous false",
            f"password_file {root / 'passwd'}",
            f"acl_file {root / 'acl'}",
            "use_username_as_clientid true",
            "",
            "# Vigil's services (ingest)",
            f"listener {service_port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {root / 'services.passwd'}",
            f"acl_file {root / 'services.acl'}",
            "use_username_as_clientid true",
            "",
        ]
    )


@dataclass
class EmbeddedMosquitto:
    """Mosquitto under ``root``: config, password file, ACL and persistence all live there."""

    root: Path
    port: int = 0
    """The device listener."""
    service_port: int = 0
    """The service listener (ingest and other Vigil services)."""
    service_users: dict[str, str] = field(default_factory=dict)
    """Service user name -> password (plain, kept in ``root``, mode 0600)."""
    device_host: str = "127.0.0.1"
    """Where the device listener binds (the services' listener is always on loopback)."""
    device_tls: tuple[Path, Path] | None = None
    """(certificate, key) in PEM: the device listener speaks MQTT over TLS only."""
    _proc: subprocess.Popen[bytes] | None = None

    def service_password(self, name: str) -> str:
        """The password of service user ``name`` (made and kept in ``root`` on first use)."""
        check_service_name(name)
        if name not in self.service_users:
            secret_file = self.root / f"{name}.secret"
            if secret_file.exists():
                self.service_users[name] = secret_file.read_text().strip()
            else:
                self.root.mkdir(parents=True, exist_ok=True)
                self.service_users[name] = new_password()
                secret_file.write_text(self.service_users[name] + "\n")
                secret_file.chmod(0o600)
        return self.service_users[name]

    def url(self, user: str) -> str:
        """Service ``user``'s URL: the service listener, and the devices' mount point as path."""
        return (
            f"mqtt://{user}:{self.service_password(user)}@127.0.0.1:{self.service_port}"
            f"/{DEVICE_MOUNT_POINT}"
        )

    def write_auth(self, device_users: list[BrokerUser]) -> None:
        """Write both listeners' password files and ACLs: service users, and the device users."""
        self.root.mkdir(parents=True, exist_ok=True)
        services = [
            BrokerUser(name, hash_password(self.service_password(name)), service=True)
            for name in sorted(self.service_users)
        ]
        write_password_file(self.root / "services.passwd", services)
        write_service_acl_file(self.root / "services.acl", [u.name for u in services])
        write_password_file(self.root / "passwd", [u for u in device_users if not u.service])
        write_device_acl_file(self.root / "acl")

    def start(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.root.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port()
        if self.service_port == 0:
            self.service_port = free_port()
        if not (self.root / "services.passwd").exists():
            self.write_auth([])
        (self.root / "mosquitto.conf").write_text(
            config_text(
                root=self.root,
                port=self.port,
                service_port=self.service_port,
                device_host=self.device_host,
                device_tls=self.device_tls,
            )
        )
        log.info(
            "starting Mosquitto: devices on %s:%d (%s), services on 127.0.0.1:%d",
            self.device_host,
            self.port,
            "MQTT over TLS" if self.device_tls else "MQTT",
            self.service_port,
        )
        self._proc = subprocess.Popen(
            [exe, "-c", str(self.root / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session, like NATS and PostgreSQL: a terminal's Ctrl-C reaches Vigil,
            # which stops the broker after the stages that use it, not before them.
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        waiting = [self.port, self.service_port]
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise ServerStartError(f"mosquitto exited: {err.strip()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.2):
                    waiting.pop(0)
                    if not waiting:
                        return
            except OSError:
                time.sleep(0.05)
        raise ServerStartError(f"mosquitto did not listen on port(s) {waiting} within 15 s")

    def reload(self) -> None:
        """Mosquitto re-reads its password file and ACL on SIGHUP."""
        reload_broker(self.root)

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()  # SIGTERM: Mosquitto saves its persistence file on exit
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def running_ports(self) -> tuple[int, int] | None:
        """Device and service ports of a broker already running from this folder (another
        Vigil process)."""
        try:
            os.kill(int((self.root / "mosquitto.pid").read_text().strip()), 0)
            ports = [
                int(line.split()[1])
                for line in (self.root / "mosquitto.conf").read_text().splitlines()
                if line.startswith("listener ")
            ]
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        return (ports[0], ports[1]) if len(ports) == 2 else None

    def kill(self) -> None:
        """SIGKILL the broker (a crash: what it had not autosaved is gone). For fault tests."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None

    def __enter__(self) -> EmbeddedMosquitto:
        running = self.running_ports()
        if running is None:
            self.start()
        else:
            self.port, self.service_port = running
            log.info("using the Mosquitto already running on ports %d/%d", *running)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


RELOADED = b"Reloading config."
"""What Mosquitto logs (at "information") as its main loop takes a SIGHUP, just before it reads
its password file and ACLs again in that same iteration: a CONNECT it handles after the line is
checked against the new files."""
RELOAD_WAIT_S = 10.0


def reload_broker(root: Path, *, wait_s: float = RELOAD_WAIT_S) -> bool:
    """SIGHUP the Mosquitto whose pid file is in ``root`` and wait (up to ``wait_s``) until it
    has taken the new password file and ACLs, so that a device provisioned a moment ago can
    connect at once; False if no broker is running there."""
    pid_file = root / "mosquitto.pid"
    log_file = root / "mosquitto.log"
    try:
        pid = int(pid_file.read_text().strip())
        offset = log_file.stat().st_size if log_file.exists() else 0
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with log_file.open("rb") as f:
                f.seek(offset)
                if RELOADED in f.read():
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    log.warning("mosquitto (pid %d) did not log its reload within %.0f s", pid, wait_s)
    return True
