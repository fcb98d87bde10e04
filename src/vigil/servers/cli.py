"""`vigil db ...` and `vigil admin ...`: schema and enrolment from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import UUID

import psycopg
import typer

from vigil.core.conditions import UnknownCondition
from vigil.core.identities import InvalidIdentity, check_device_id
from vigil.servers.stack import Servers, start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import admin, migrate, nightscout

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
admin_app = typer.Typer(no_args_is_help=True, help="Tenants, patients and devices.")


@contextmanager
def _servers() -> Iterator[Servers]:
    servers = start_servers(Settings())
    try:
        yield servers
    finally:
        servers.close()


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations."""
    with _servers() as servers, psycopg.connect(servers.database_url) as conn:
        applied = migrate(conn)
    typer.echo(f"applied: {', '.join(applied) or 'nothing (up to date)'}")


@admin_app.command("create-tenant")
def create_tenant(name: str) -> None:
    """Create a tenant (a clinic or health system)."""
    with _servers() as servers, psycopg.connect(servers.database_url) as conn:
        migrate(conn)
        typer.echo(str(admin.create_tenant(conn, name=name)))


@admin_app.command("create-patient")
def create_patient(
    tenant: str = typer.Option(..., help="Tenant name"),
    name: str = typer.Option(..., help="Display name"),
    condition: list[str] = typer.Option([], help="hypertension, t1d, t2d, heart_failure, copd"),
) -> None:
    """Enrol a patient; prints the patient id."""
    with _servers() as servers, psycopg.connect(servers.database_url) as conn:
        migrate(conn)
        tenant_id = admin.tenant_by_name(conn, name=tenant)
        try:
            patient_id = admin.create_patient(
                conn, tenant_id=tenant_id, display_name=name, conditions=condition
            )
        except UnknownCondition as e:
            raise typer.BadParameter(str(e), param_hint="--condition") from None
        typer.echo(str(patient_id))


@admin_app.command("create-device")
def create_device(
    tenant: str = typer.Option(..., help="Tenant name"),
    kind: str = typer.Option(..., help="bp_cuff, glucometer, cgm, oximeter, scale, thermometer"),
    patient: UUID | None = typer.Option(None, help="Assign to this patient from now on"),
    device_id: str | None = typer.Option(None, "--id", help="Device id (default: generated)"),
) -> None:
    """Provision a device; prints its MQTT credentials (shown once) and topic."""
    if device_id is not None:
        try:
            check_device_id(device_id)
        except InvalidIdentity as exc:
            raise typer.BadParameter(str(exc), param_hint="--id") from None
    with _servers() as servers, psycopg.connect(servers.database_url) as conn:
        migrate(conn)
        tenant_id = admin.tenant_by_name(conn, name=tenant)
        creds = admin.provision_device(conn, tenant_id=tenant_id, kind=kind, device_id=device_id)
        if patient is not None:
            admin.assign_device(
                conn, device_id=creds.device_id, patient_id=patient, valid_from=datetime.now(UTC)
            )
        conn.commit()
        if servers.broker_root is not None:
            sync_broker_credentials(conn, servers.broker_root)
        typer.echo(
            json.dumps(
                {
                    "device_id": creds.device_id,
                    "username": creds.device_id,
                    "password": creds.password,
                    "topic": creds.topic,
                    "broker": f"{servers.mqtt.host}:{servers.device_port}",
                    **_nightscout(creds),
                }
            )
        )


def _nightscout(creds: admin.DeviceCredentials) -> dict[str, object]:
    """The uploader app's settings, at the public address (else the API's own)."""
    if creds.nightscout is None:
        return {}
    settings = Settings()
    scheme = "https" if settings.api_tls_certfile is not None else "http"
    base = settings.nightscout_public_url or f"{scheme}://{settings.api_host}:{settings.api_port}"
    return {"nightscout": nightscout.site_answer(base, creds.nightscout)}


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(admin_app, name="admin")
