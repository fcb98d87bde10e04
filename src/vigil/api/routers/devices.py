"""Devices: provision (MQTT credentials, shown once), revoke, assign to a patient.

A provision or a revocation is committed and then written to the broker's password file, both
before the response is sent: credentials answered 201 work, and a device answered "revoked" is
refused by the broker. If the broker cannot be updated the change stays stored (it is the
record the next sync writes from) and the answer is a 500 that says so, never a 2xx.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status

from vigil.api import console_repo
from vigil.api.audit import audit_allowed, refuse
from vigil.api.deps import (
    AdminUser,
    ConnDep,
)
from vigil.api.errors import ApiError
from vigil.api.models import (
    AssignmentCreate,
    DeviceCreate,
    DeviceCredentialsPublic,
    DevicePublic,
    NightscoutAccessPublic,
)
from vigil.api.paging import Offset
from vigil.api.state import state_of
from vigil.api.transaction import commit
from vigil.core.errors import NotFound
from vigil.core.identities import DEVICE_ID_RE
from vigil.storage import admin, nightscout

log = logging.getLogger(__name__)
router = APIRouter(prefix="/devices", tags=["devices"])
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_RE.pattern)]
BROKER_SYNC_LOCK = 0x76_69_67_69_6C_62_72_6B
"""The advisory lock that one broker sync at a time holds, in every API process."""


class BrokerNotUpdated(ApiError):
    status = 500
    code = "broker_not_updated"

    def __init__(self) -> None:
        super().__init__(
            "the change is stored but the broker's credentials could not be updated;"
            " the next successful device change or broker sync applies it"
        )


def _commit_and_sync_broker(request: Request, conn: ConnDep) -> None:
    """Commit the device change, then rewrite the broker's password file from the committed
    devices: both before the response is sent.

    One sync at a time (an advisory lock, so across API processes too): two provisions at
    once could otherwise each read the devices before the other's commit, and the later file
    written would lack the other's device (a 201 whose credentials the broker refuses).
    """
    commit(conn, action=request.url.path)
    sync = state_of(request.app).sync_broker
    if sync is None:
        return
    console_repo.lock_broker_sync(conn, key=BROKER_SYNC_LOCK)
    try:
        sync(conn)
    except Exception as exc:
        log.exception("broker credentials not updated after a device change")
        raise BrokerNotUpdated() from exc
    commit(conn, action="broker sync")  # releases the lock


def _own_device(conn: ConnDep, request: Request, user: AdminUser, device_id: str) -> None:
    if not console_repo.device_in_tenant(conn, device_id=device_id, tenant_id=user.tenant_id):
        raise refuse(conn, request, user, NotFound(f"no device {device_id!r}"))


def _patient_in_tenant(conn: ConnDep, request: Request, user: AdminUser, patient: Any) -> None:
    if not console_repo.patient_in_tenant(conn, patient_id=patient, tenant_id=user.tenant_id):
        raise refuse(conn, request, user, NotFound(f"no patient {patient}"), patient_id=patient)


@router.get("", response_model=list[DevicePublic])
def list_devices(
    conn: ConnDep,
    user: AdminUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[DevicePublic]:
    rows = console_repo.list_devices(conn, tenant_id=user.tenant_id, limit=limit, offset=offset)
    return [DevicePublic.model_validate(r) for r in rows]


@router.post("", response_model=DeviceCredentialsPublic, status_code=status.HTTP_201_CREATED)
def provision(
    body: DeviceCreate, conn: ConnDep, user: AdminUser, request: Request
) -> DeviceCredentialsPublic:
    """Register a device. The response carries its MQTT password: it is shown only once.
    The broker's password file is updated before this returns."""
    if body.patient_id is not None:
        _patient_in_tenant(conn, request, user, body.patient_id)
    creds = admin.provision_device(
        conn, tenant_id=user.tenant_id, kind=body.kind, device_id=body.device_id
    )
    if body.patient_id is not None:
        admin.assign_device(
            conn,
            device_id=creds.device_id,
            patient_id=body.patient_id,
            valid_from=datetime.now(UTC),
        )
    audit_allowed(
        conn, request, user, patient_id=body.patient_id, detail={"device_id": creds.device_id}
    )
    _commit_and_sync_broker(request, conn)
    return DeviceCredentialsPublic(
        device_id=creds.device_id,
        password=creds.password,
        topic=creds.topic,
        nightscout=_nightscout(request, creds.nightscout),
    )


def _nightscout(
    request: Request, issued: nightscout.NightscoutSecrets | None
) -> NightscoutAccessPublic | None:
    """The uploader app's settings, at the address the deployment gives uploaders (else the
    one this request came to)."""
    if issued is None:
        return None
    base = state_of(request.app).settings.nightscout_public_url or str(request.base_url)
    return NightscoutAccessPublic(**nightscout.site_answer(base, issued))


@router.post("/{device_id}/revoke", status_code=status.HTTP_204_NO_CONTENT)
def revoke(device_id: DeviceId, conn: ConnDep, user: AdminUser, request: Request) -> None:
    """Revoke a device: its broker credentials stop working and its assignment ends."""
    _own_device(conn, request, user, device_id)
    admin.revoke_device(conn, device_id=device_id)
    audit_allowed(conn, request, user, patient_id=None, detail={"device_id": device_id})
    _commit_and_sync_broker(request, conn)


@router.post("/{device_id}/assignments", status_code=status.HTTP_204_NO_CONTENT)
def assign(
    device_id: DeviceId, body: AssignmentCreate, conn: ConnDep, user: AdminUser, request: Request
) -> None:
    """Assign the device to a patient from ``valid_from`` on (ending its current assignment)."""
    _own_device(conn, request, user, device_id)
    _patient_in_tenant(conn, request, user, body.patient_id)
    admin.assign_device(
        conn,
        device_id=device_id,
        patient_id=body.patient_id,
        valid_from=body.valid_from or datetime.now(UTC),
    )
    audit_allowed(conn, request, user, patient_id=body.patient_id, detail={"device_id": device_id})
