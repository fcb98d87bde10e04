"""Embedded servers come back by themselves: a thread that restarts whichever died.

Whatever embedded server a process started (PostgreSQL, the MQTT broker, NATS: anything that
:func:`supervised` can adapt) is checked every ``interval_s``; one found dead is started again
on the same port and folder, logged, and counted in
``vigil_embedded_restarts_total{server}``. The stages reconnect on their own (their loops
drop a failed connection and open a new one; the NATS and MQTT clients reconnect). Servers
attached to (started by another Vigil process from the same folder) are that process's to
restart, not this one's.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter

from vigil.core.worker import Backoff, Worker
from vigil.servers.mosquitto import EmbeddedMosquitto
from vigil.servers.nats import EmbeddedNats
from vigil.servers.postgres import EmbeddedPostgres

log = logging.getLogger(__name__)

RESTARTS = Counter(
    "vigil_embedded_restarts_total", "Embedded servers found dead and started again", ["server"]
)


@dataclass(frozen=True, slots=True)
class Supervised:
    """One embedded server as the supervisor sees it."""

    name: str
    alive: Callable[[], bool]
    restart: Callable[[], None]


def pid_alive(pid: int | None) -> bool:
    """A process with this id runs (a zombie, killed and not yet reaped by its parent, does
    not: a server this process started and that died stays one until restarted)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process holds it: alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: signal 0 is all we know
    return stat.rpartition(")")[2].split()[0] != "Z"


class Supervisor(Worker):
    def __init__(self, servers: list[Supervised], *, interval_s: float = 1.0) -> None:
        super().__init__("embedded-servers", backoff=Backoff(max_s=5.0), interval_s=interval_s)
        self.servers = servers
        self.restarts: dict[str, int] = {s.name: 0 for s in servers}
        self.recoveries: dict[str, list[float]] = {s.name: [] for s in servers}
        """Seconds from finding each server dead to having it running again."""

    def step(self) -> None:
        for server in self.servers:
            if self.stopping:
                return
            if server.alive():
                continue
            found = time.monotonic()
            log.warning("embedded %s is not running: starting it again", server.name)
            self.retry(f"restarting embedded {server.name} failed", server.restart)
            took = time.monotonic() - found
            self.restarts[server.name] += 1
            self.recoveries[server.name].append(took)
            RESTARTS.labels(server.name).inc()
            log.warning("embedded %s restarted in %.1f s", server.name, took)


def supervise_postgres(pg: EmbeddedPostgres) -> Supervised:
    def alive() -> bool:
        try:
            pid = int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return False
        return pid_alive(pid)

    return Supervised("postgres", alive, pg.start)


def supervise_nats(nats: EmbeddedNats) -> Supervised:
    return Supervised("nats", lambda: nats.pid is not None, lambda: nats.start(wait=True))


def supervise_mosquitto(broker: EmbeddedMosquitto) -> Supervised:
    def alive() -> bool:
        try:
            return pid_alive(int((broker.root / "mosquitto.pid").read_text().strip()))
        except (FileNotFoundError, ValueError):
            return False

    def restart() -> None:
        broker.kill()  # reaps what is left of the dead process and its pipe
        broker.start()

    return Supervised("broker", alive, restart)
