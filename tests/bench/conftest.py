"""The benches' tests run each bench on the tests' own servers, handed over as ``Servers``."""

from __future__ import annotations

import pytest

from tests.conftest import INGEST_USER
from vigil.servers import EmbeddedMosquitto, EmbeddedNats, MqttTarget, Servers


@pytest.fixture
def servers(db_url: str, broker: EmbeddedMosquitto, nats_server: EmbeddedNats) -> Servers:
    """Where a bench connects: the tests' database, broker (as ingest) and NATS server."""
    return Servers(
        db_url,
        MqttTarget.from_url(broker.url(INGEST_USER)),
        nats_server.url,
        device_port=broker.port,
        broker_root=broker.root,
    )
