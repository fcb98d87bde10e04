"""Real servers for the tests: a private PostgreSQL+TimescaleDB, Mosquitto and NATS (JetStream).

They are started on free ports in a throw-away folder (readable by the ``postgres`` user, since
PostgreSQL refuses to run as root). A server that cannot start fails the run; nothing is skipped.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import Browser

from vigil.servers import EmbeddedMosquitto, EmbeddedNats, EmbeddedPostgres, MqttTarget, NatsCluster
from vigil.settings import Settings
from vigil.storage import migrate
from vigil.storage.admin import DeviceCredentials

INGEST_USER = "vigil-ingest"

# Property tests: many examples in `make test` ("full", the default here), a few in the fast
# loop (`make test-fast` passes --hypothesis-profile=fast). No deadline: the machine is shared.
hypothesis_settings.register_profile("full", max_examples=300, deadline=None)
hypothesis_settings.register_profile("fast", max_examples=25, deadline=None)
hypothesis_settings.load_profile("full")


@pytest.fixture(scope="session")
def state_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="vigil-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(state_root: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(state_root / "postgres", durable=False)
    server.start()
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE vigil_template")
    with psycopg.connect(server.url("vigil_template")) as conn:
        migrate(conn)
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        # No connections to the template (TimescaleDB's scheduler would otherwise open one,
        # and CREATE DATABASE ... TEMPLATE refuses a template in use).
        conn.execute("ALTER DATABASE vigil_template WITH ALLOW_CONNECTIONS false")
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = 'vigil_template'"
        )
    yield server
    server.stop("immediate")


@contextmanager
def new_database(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A fresh, fully migrated database (a copy of the template), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        for attempt in range(50):
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE vigil_template')
                break
            except psycopg.errors.ObjectInUse:  # a backend still leaving the template
                if attempt == 49:
                    raise
                time.sleep(0.1)
    yield pg_server.url(name)
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A fresh, fully migrated database for one test."""
    with new_database(pg_server) as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def broker(state_root: Path) -> Iterator[EmbeddedMosquitto]:
    server = EmbeddedMosquitto(state_root / "mosquitto")
    server.service_password(INGEST_USER)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_server(state_root: Path) -> Iterator[EmbeddedNats]:
    """One NATS server with JetStream for the session (``.url`` has the service user's password).

    A test may ``kill()`` it and ``start()`` it again: same port, same store. Tests share it, so
    each uses stream names of its own (or deletes its streams).
    """
    server = EmbeddedNats(state_root / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[Callable[..., NatsCluster]]:
    """A factory: ``nats_cluster(size=3)`` starts a cluster on loopback (meta leader elected);
    every cluster it started is stopped after the test."""
    started: list[NatsCluster] = []

    def make(size: int = 3) -> NatsCluster:
        cluster = NatsCluster(tmp_path / f"nats-cluster-{len(started)}", size=size)
        started.append(cluster)
        cluster.start()
        return cluster

    yield make
    for cluster in started:
        cluster.stop()


@pytest.fixture
def ingest_target(broker: EmbeddedMosquitto) -> MqttTarget:
    return MqttTarget.from_url(broker.url(INGEST_USER))


# Fixtures that start a real server (or a browser): a test using any of them, directly or
# through another fixture, is an integration test. `make test-fast` runs the others.
SERVER_FIXTURES = frozenset({"pg_server", "broker", "nats_server", "nats_cluster", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


class Harness:
    """A tenant in a fresh database, devices provisioned the way an administrator does, and
    a broker user of its own for ingest (so each test has its own persistent session)."""

    def __init__(self, db_url: str, broker: EmbeddedMosquitto, nats: EmbeddedNats) -> None:
        from vigil.storage import admin

        self.db_url = db_url
        self.broker = broker
        self.nats = nats
        self.ingest_user = f"vigil-ingest-{uuid.uuid4().hex[:8]}"
        self.stream_name = f"t{uuid.uuid4().hex[:10]}"
        broker.service_password(self.ingest_user)
        with psycopg.connect(db_url) as conn:
            self.tenant_id = admin.create_tenant(conn, name="Test clinic")
        self.sync()

    @property
    def ingest_target(self) -> MqttTarget:
        return MqttTarget.from_url(self.broker.url(self.ingest_user))

    def sync(self) -> None:
        from vigil.servers import sync_broker_credentials

        with psycopg.connect(self.db_url) as conn:
            assert sync_broker_credentials(conn, self.broker.root)  # returns once reloaded

    def patient_with_device(
        self, *, kind: str = "oximeter", conditions: list[str] | None = None
    ) -> tuple[uuid.UUID, DeviceCredentials]:
        from datetime import timedelta

        from vigil.storage import admin

        with psycopg.connect(self.db_url) as conn:
            patient, creds = admin.enrol_with_device(
                conn,
                tenant_id=self.tenant_id,
                display_name="Test patient",
                kind=kind,
                conditions=conditions,
                assigned_since=timedelta(days=200),
            )
        self.sync()
        return patient, creds

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": self.db_url,
            "mqtt_url": self.broker.url(self.ingest_user),
            "mqtt_client_id": self.ingest_user,
            "nats_url": self.nats.url,
            # Each test its own readings stream on the shared NATS server.
            "stream_name": self.stream_name,
            # Direct subscription, the deployment default (each test its own ingest user, so
            # its own persistent session). Tests of shared groups pass mqtt_shared_group; a
            # group of their own, as a group round-robins over every session in it, including
            # the persistent sessions of earlier tests' ingest users.
        }
        return Settings(**{**values, **overrides})  # type: ignore[arg-type]

    def count(self, sql: str, *params: object) -> int:
        with psycopg.connect(self.db_url) as conn:
            row = conn.execute(sql, params).fetchone()
            assert row is not None
            return int(row[0])  # type: ignore[call-overload,unused-ignore]


@pytest.fixture
def harness(db_url: str, broker: EmbeddedMosquitto, nats_server: EmbeddedNats) -> Harness:
    return Harness(db_url, broker, nats_server)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian chromium (installed by scripts/setup.sh), driven by Playwright."""
    from playwright.sync_api import sync_playwright

    from tests.browser import ARGS, CHROMIUM

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()
