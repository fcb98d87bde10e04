"""A NATS cluster of N JetStream nodes on loopback, for replicated streams and fault tests."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from vigil.core.errors import ServerStartError
from vigil.servers.nats import (
    SERVICE_USER,
    START_TIMEOUT_S,
    ClusterRoutes,
    EmbeddedNats,
    secret,
)
from vigil.servers.process import free_port

log = logging.getLogger(__name__)


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@dataclass
class NatsCluster:
    """``size`` nodes named ``n1``..``nN`` under ``root/n1``..., each with its own client,
    monitoring and route port and its own store; one set of user passwords for all."""

    root: Path
    size: int = 3
    name: str = "vigil"
    binary: Path | None = None
    nodes: list[EmbeddedNats] = field(init=False)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("a cluster needs at least one node")
        self.root.mkdir(parents=True, exist_ok=True)
        users = {SERVICE_USER: secret(self.root / f"{SERVICE_USER}.secret")}
        route_password = secret(self.root / "route.secret")
        ports = _free_ports(3 * self.size)
        client, http, route = ports[0::3], ports[1::3], ports[2::3]
        self.nodes = [
            EmbeddedNats(
                self.root / f"n{i + 1}",
                port=client[i],
                http_port=http[i],
                server_name=f"n{i + 1}",
                binary=self.binary,
                users=users,
                cluster=ClusterRoutes(
                    name=self.name,
                    port=route[i],
                    peers=tuple(p for j, p in enumerate(route) if j != i),
                    password=route_password,
                ),
            )
            for i in range(self.size)
        ]

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (with the service user's credentials), for nats-py."""
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """The same, comma-separated, as ``VIGIL_NATS_URL`` takes it."""
        return ",".join(self.urls)

    def node(self, server_name: str) -> EmbeddedNats:
        for node in self.nodes:
            if node.server_name == server_name:
                return node
        raise KeyError(server_name)

    def start(self, *, timeout: float = START_TIMEOUT_S) -> None:
        """Start every node, then wait until the cluster has a JetStream meta leader."""
        for node in self.nodes:
            node.start(wait=False)
        for node in self.nodes:
            node.wait_ready(timeout=timeout)
        self.wait_meta_leader(timeout=timeout)

    def kill(self, index: int) -> EmbeddedNats:
        """kill -9 node ``index`` (0-based); its store stays for :meth:`restart`."""
        node = self.nodes[index]
        log.info("killing NATS node %s", node.server_name)
        node.kill()
        return node

    def restart(self, index: int, *, timeout: float = START_TIMEOUT_S) -> EmbeddedNats:
        """Start node ``index`` again on its ports with its store and wait until it is current
        with the cluster (its /healthz: meta and every stream and consumer it hosts caught up)."""
        node = self.nodes[index]
        if node.pid is not None:
            node.stop()
        node.start()
        node.wait_ready(timeout=timeout, full=True)
        return node

    def live_nodes(self) -> list[EmbeddedNats]:
        return [node for node in self.nodes if node.pid is not None]

    def wait_meta_leader(self, *, timeout: float = START_TIMEOUT_S) -> str:
        """Wait until every running node names the same running node as JetStream meta leader;
        return its server name."""
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while time.monotonic() < deadline:
            live = self.live_nodes()
            names = {node.server_name for node in live}
            seen = set()
            for node in live:
                try:
                    seen.add(str(node.jsz().get("meta_cluster", {}).get("leader", "")))
                except httpx.HTTPError:
                    seen.add("")
            if len(seen) == 1 and (leader := seen.pop()) in names:
                return leader
            time.sleep(0.1)
        raise ServerStartError(f"no JetStream meta leader within {timeout:.0f} s (seen {seen})")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> NatsCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
