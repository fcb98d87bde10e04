"""Enrolment and provisioning: the one path administrators, the API and the simulator use."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors

from vigil.core.conditions import parse_conditions
from vigil.core.credentials import BrokerUser, hash_edge_password, hash_password, new_password
from vigil.core.errors import Conflict, NotFound
from vigil.core.identities import check_device_id
from vigil.core.payload import topic_for
from vigil.storage.nightscout import NightscoutSecrets, issue_credentials

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    """Shown once at provisioning: only the hash is stored."""

    device_id: str
    password: str
    topic: str
    nightscout: NightscoutSecrets | None = None
    """The device's Nightscout API secret and access token (an uploader app is a device)."""


def create_tenant(conn: Conn, *, name: str) -> UUID:
    try:
        row = conn.execute("INSERT INTO tenants (name) VALUES (%s) RETURNING id", (name,))
        return _uuid(row.fetchone())
    except pg_errors.UniqueViolation:
        raise Conflict(f"a tenant named {name!r} exists") from None


def tenant_by_name(conn: Conn, *, name: str) -> UUID:
    row = conn.execute("SELECT id FROM tenants WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no tenant named {name!r}")
    return _uuid(row)


def create_patient(
    conn: Conn, *, tenant_id: UUID, display_name: str, conditions: list[str]
) -> UUID:
    """Enrol a patient; :class:`UnknownCondition` for a condition outside the closed list."""
    conditions = [c.value for c in parse_conditions(conditions)]
    try:
        row = conn.execute(
            "INSERT INTO patients (tenant_id, display_name, conditions)"
            " VALUES (%s, %s, %s) RETURNING id",
            (tenant_id, display_name, conditions),
        )
    except pg_errors.ForeignKeyViolation:
        raise NotFound(f"no tenant {tenant_id}") from None
    return _uuid(row.fetchone())


def provision_device(
    conn: Conn, *, tenant_id: UUID, kind: str, device_id: str | None = None
) -> DeviceCredentials:
    """Register a device and return its MQTT credentials (the password is not stored).

    Raises :class:`~vigil.core.identities.InvalidIdentity` for an id no device may have (a
    reserved service name among them)."""
    device_id = check_device_id(device_id or f"{kind[:12]}-{secrets.token_hex(6)}")
    password = new_password()
    try:
        conn.execute(
            "INSERT INTO devices (id, tenant_id, kind, mqtt_password_hash, edge_password_hash)"
            " VALUES (%s, %s, %s, %s, %s)",
            (device_id, tenant_id, kind, hash_password(password), hash_edge_password(password)),
        )
    except pg_errors.UniqueViolation:
        # The same answer whichever tenant holds the id (ids are global: they are MQTT users).
        raise Conflict(f"device id {device_id!r} is not available; choose another") from None
    except pg_errors.ForeignKeyViolation:
        raise NotFound(f"no tenant {tenant_id}") from None
    nightscout = issue_credentials(conn, device_id=device_id)
    return DeviceCredentials(device_id, password, topic_for(device_id), nightscout)


def revoke_device(conn: Conn, *, device_id: str, at: datetime | None = None) -> None:
    cur = conn.execute(
        "UPDATE devices SET revoked_at = coalesce(%s, now()) WHERE id = %s AND revoked_at IS NULL",
        (at, device_id),
    )
    if cur.rowcount == 0:
        raise NotFound(f"no active device {device_id!r}")
    conn.execute(
        "UPDATE device_assignments SET valid = tstzrange(lower(valid), coalesce(%s, now()))"
        " WHERE device_id = %s AND upper_inf(valid) AND lower(valid) < coalesce(%s, now())",
        (at, device_id, at),
    )


def assign_device(conn: Conn, *, device_id: str, patient_id: UUID, valid_from: datetime) -> None:
    """Assign from ``valid_from`` on, ending any open assignment of the device at that time."""
    row = conn.execute(
        "SELECT d.tenant_id = p.tenant_id FROM devices d, patients p"
        " WHERE d.id = %s AND p.id = %s AND d.revoked_at IS NULL",
        (device_id, patient_id),
    ).fetchone()
    if row is None:
        raise NotFound("no such active device or patient")
    if not row[0]:
        raise Conflict("device and patient belong to different tenants")
    # A reading is kept once per (patient, metric, time, device): the patient must stay the one
    # the device's assignment named at the reading's time, or a replay of a reading stored for
    # the current patient would be stored again for the new one.
    stored = conn.execute(
        "SELECT max(r.time) FROM device_assignments a JOIN readings r"
        " ON r.patient_id = a.patient_id AND r.device_id = a.device_id"
        " WHERE a.device_id = %(d)s AND upper_inf(a.valid) AND lower(a.valid) < %(t)s"
        " AND r.time >= %(t)s",
        {"d": device_id, "t": valid_from},
    ).fetchone()
    if stored is not None and isinstance(stored[0], datetime):
        raise Conflict(
            f"device {device_id!r} has readings stored for its current patient up to"
            f" {stored[0].isoformat()}: a new assignment starts after them"
        )
    conn.execute(
        "UPDATE device_assignments SET valid = tstzrange(lower(valid), %s)"
        " WHERE device_id = %s AND upper_inf(valid) AND lower(valid) < %s",
        (valid_from, device_id, valid_from),
    )
    try:
        conn.execute(
            "INSERT INTO device_assignments (device_id, patient_id, valid)"
            " VALUES (%s, %s, tstzrange(%s, NULL))",
            (device_id, patient_id, valid_from),
        )
    except pg_errors.ExclusionViolation:
        raise Conflict(f"device {device_id!r} is already assigned from that time") from None


def enrol_with_device(
    conn: Conn,
    *,
    tenant_id: UUID,
    display_name: str,
    kind: str,
    conditions: list[str] | None = None,
    assigned_since: timedelta = timedelta(days=30),
) -> tuple[UUID, DeviceCredentials]:
    """Enrol a patient and provision a device assigned to them from ``assigned_since`` ago (a
    backlog of that age is theirs): what a clinic does for a new patient, in the caller's
    transaction."""
    patient = create_patient(
        conn, tenant_id=tenant_id, display_name=display_name, conditions=conditions or []
    )
    creds = provision_device(conn, tenant_id=tenant_id, kind=kind)
    assign_device(
        conn,
        device_id=creds.device_id,
        patient_id=patient,
        valid_from=datetime.now(UTC) - assigned_since,
    )
    return patient, creds


def list_broker_users(conn: Conn) -> list[BrokerUser]:
    """Every device that may connect to the broker (not revoked)."""
    rows = conn.execute(
        "SELECT id, mqtt_password_hash, edge_password_hash FROM devices"
        " WHERE revoked_at IS NULL ORDER BY id"
    ).fetchall()
    return [
        BrokerUser(str(r[0]), str(r[1]), edge_password_hash=None if r[2] is None else str(r[2]))
        for r in rows
    ]


def _uuid(row: tuple[object, ...] | None) -> UUID:
    assert row is not None
    value = row[0]
    assert isinstance(value, UUID)
    return value
