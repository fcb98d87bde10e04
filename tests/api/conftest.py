"""An API on a fresh database, with two tenants and one user of every kind that matters to
authorisation: admin, clinician in the care team, clinician outside it, patients."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import ConnectionPool
from pydantic import SecretStr

from vigil.api import Role, create_app
from vigil.api import repo as api_repo
from vigil.api.security import hash_password, new_token, token_digest
from vigil.api.serving import ThreadedServer
from vigil.settings import Settings
from vigil.storage import admin

PASSWORD = "correct horse battery staple"


@dataclass
class Tenant:
    id: uuid.UUID
    team: uuid.UUID
    patient: uuid.UUID
    """In the care team."""
    other_patient: uuid.UUID
    """Not in the care team."""
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)


@dataclass
class World:
    db_url: str
    a: Tenant
    b: Tenant

    def headers(self, who: str, tenant: str = "a") -> dict[str, str]:
        t = self.a if tenant == "a" else self.b
        return {"Authorization": f"Bearer {t.tokens[who]}"}

    def conn(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.db_url, autocommit=True)


def _user(
    conn: psycopg.Connection[Any],
    tenant: Tenant,
    who: str,
    role: Role,
    patient_id: uuid.UUID | None = None,
) -> None:
    user_id = api_repo.create_user(
        conn,
        tenant_id=tenant.id,
        email=f"{who}.{tenant.id.hex[:6]}@clinic.example",
        display_name=who,
        role=role,
        password_hash=FAST_HASH,
        patient_id=patient_id,
    )
    token = new_token()
    api_repo.store_token(
        conn,
        digest=token_digest(token),
        user_id=user_id,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    tenant.users[who] = user_id
    tenant.tokens[who] = token


FAST_HASH = hash_password(PASSWORD)


def _tenant(conn: psycopg.Connection[Any], name: str) -> Tenant:
    tenant_id = admin.create_tenant(conn, name=name)
    patient = admin.create_patient(
        conn, tenant_id=tenant_id, display_name=f"{name} patient", conditions=["copd"]
    )
    other = admin.create_patient(
        conn, tenant_id=tenant_id, display_name=f"{name} other", conditions=["hypertension"]
    )
    team = api_repo.create_team(conn, tenant_id=tenant_id, name="Respiratory")
    t = Tenant(tenant_id, team, patient, other)
    _user(conn, t, "admin", Role.ADMIN)
    _user(conn, t, "clinician", Role.CLINICIAN)
    _user(conn, t, "outsider", Role.CLINICIAN)
    _user(conn, t, "patient", Role.PATIENT, patient)
    _user(conn, t, "other_patient", Role.PATIENT, other)
    api_repo.add_member(conn, team_id=team, user_id=t.users["clinician"], tenant_id=tenant_id)
    api_repo.add_team_patient(conn, team_id=team, patient_id=patient, tenant_id=tenant_id)
    return t


def build_world(db_url: str) -> World:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return World(db_url, _tenant(conn, "Clinic A"), _tenant(conn, "Clinic B"))


@pytest.fixture
def world(db_url: str) -> World:
    return build_world(db_url)


class LiveServer(ThreadedServer):
    """The app served by a real uvicorn on a free port, in a thread."""


def make_app(db_url: str, *, settings: Settings | None = None, **kw: Any) -> Any:
    pool: ConnectionPool[Any] = ConnectionPool(db_url, min_size=1, max_size=4, open=False)
    # The tests read the OpenAPI document and the metrics (off by default: test_exposure).
    settings = settings or Settings(
        database_url=db_url, api_openapi=True, metrics_token=SecretStr("scrape-token")
    )
    return create_app(settings, pool, **kw)


@pytest.fixture
def base_url(world: World) -> Iterator[str]:
    with LiveServer(make_app(world.db_url)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c
