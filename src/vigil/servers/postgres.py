"""A private PostgreSQL cluster with TimescaleDB preloaded, under a state folder."""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from vigil.core.errors import ServerStartError
from vigil.servers.process import as_user, free_port, give_to, run, service_user

log = logging.getLogger(__name__)


def pg_bindir() -> Path:
    """The newest installed PostgreSQL server's bin folder (Debian layout), else PATH."""
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")),
        key=lambda p: int(p.parent.parent.name),
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_ctl")
    if found is None:
        raise ServerStartError("no PostgreSQL server found; run `make setup`")
    return Path(found).resolve().parent


@dataclass
class EmbeddedPostgres:
    """Start/stop a cluster in ``root`` (created on first start) on a free port.

    ``durable=False`` turns fsync off: for throw-away test clusters only.
    """

    root: Path
    port: int = 0
    durable: bool = True
    user: str | None = field(default_factory=service_user)
    db_user: str = "vigil"
    db_name: str = "vigil"
    _owned: bool = field(default=True, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def password(self) -> str:
        return (self.root / "password").read_text().strip()

    def url(self, dbname: str | None = None) -> str:
        return (
            f"postgresql://{self.db_user}:{quote(self.password)}@127.0.0.1:{self.port}/"
            f"{dbname or self.db_name}"
        )

    def _ctl(self, *args: str) -> list[str]:
        return as_user([str(pg_bindir() / "pg_ctl"), "-D", str(self.data_dir), *args], self.user)

    def init(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        pwfile = self.root / "password"
        pwfile.write_text(secrets.token_urlsafe(24) + "\n")
        pwfile.chmod(0o600)
        give_to(self.root, self.user)
        log.info("initialising PostgreSQL cluster in %s", self.data_dir)
        run(
            as_user(
                [
                    str(pg_bindir() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.db_user,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                self.user,
            ),
            what="initdb",
        )
        conf = [
            "shared_preload_libraries = 'timescaledb'",
            "timescaledb.telemetry_level = off",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 200",
            "shared_buffers = '256MB'",
            "log_min_messages = warning",
            "timezone = 'UTC'",
        ]
        if not self.durable:
            conf += ["fsync = off", "full_page_writes = off"]
        with (self.data_dir / "postgresql.auto.conf").open("a") as f:
            f.write("\n".join(conf) + "\n")

    def running_port(self) -> int | None:
        """Port of a server already running on this data folder (another Vigil process)."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        status = subprocess.run(self._ctl("status"), capture_output=True, check=False)
        if status.returncode != 0:
            return None
        lines = pid_file.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 else None

    def start(self) -> None:
        self.init()
        if self.port == 0:
            self.port = free_port()
        log.info("starting PostgreSQL on 127.0.0.1:%d", self.port)
        run(
            self._ctl(
                "-l",
                str(self.root / "postgres.log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port}",
                "start",
            ),
            what="pg_ctl start",
        )
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.db_name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')

    def stop(self, mode: str = "fast") -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        subprocess.run(self._ctl("-m", mode, "-w", "stop"), capture_output=True, check=False)

    def kill(self) -> None:
        """Stop the server abruptly (immediate shutdown), as a crash would."""
        self.stop("immediate")

    def __enter__(self) -> EmbeddedPostgres:
        running = self.running_port()
        self._owned = running is None
        if running is None:
            self.start()
        else:
            self.port = running
            log.info("using the PostgreSQL already running on port %d", running)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self.stop()
