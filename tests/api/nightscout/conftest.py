"""A Vigil API (no stream: readings are stored, the hand-off is the bar test's) with two
patients' uploader devices provisioned as an administrator does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from tests.api.conftest import LiveServer, World, make_app
from vigil.storage import admin, nightscout


@dataclass
class Uploader:
    device_id: str
    patient_id: UUID
    url: str
    api_secret: str
    access_token: str


@dataclass
class Site:
    base_url: str
    world: World
    mine: Uploader
    theirs: Uploader
    """Another tenant's patient's app."""
    api: httpx.Client

    def readings(self, patient: UUID, metric: str) -> list[tuple[datetime, float]]:
        with psycopg.connect(self.world.db_url) as conn:
            rows = conn.execute(
                "SELECT time, value FROM readings WHERE patient_id = %s AND metric = %s"
                " ORDER BY time",
                (patient, metric),
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def rejected(self, device_id: str) -> list[str]:
        with psycopg.connect(self.world.db_url) as conn:
            rows = conn.execute(
                "SELECT reason FROM rejected_messages WHERE device_id = %s ORDER BY id",
                (device_id,),
            ).fetchall()
        return [str(r[0]) for r in rows]


def uploader(conn: psycopg.Connection[Any], tenant: UUID, patient: UUID, base: str) -> Uploader:
    creds = admin.provision_device(conn, tenant_id=tenant, kind="cgm")
    admin.assign_device(
        conn,
        device_id=creds.device_id,
        patient_id=patient,
        valid_from=datetime.now(UTC) - timedelta(days=30),
    )
    assert creds.nightscout is not None
    answer = nightscout.site_answer(base, creds.nightscout)
    return Uploader(
        creds.device_id, patient, answer["url"], answer["api_secret"], answer["access_token"]
    )


@pytest.fixture
def site(world: World) -> Iterator[Site]:
    with LiveServer(make_app(world.db_url)) as base, httpx.Client(timeout=20) as api:
        with world.conn() as conn:
            mine = uploader(conn, world.a.id, world.a.patient, base)
            theirs = uploader(conn, world.b.id, world.b.patient, base)
        yield Site(base, world, mine, theirs, api)
