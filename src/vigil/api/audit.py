"""The audit trail of the API's decisions: who asked for what, allowed or refused.

- An allowed read or change is recorded in the request's own transaction
  (:func:`audit_allowed`; a change no scope check recorded, by :func:`audit_change` when the
  request's connection is handed back), so a change and its audit row commit together.
- A refusal is recorded and committed at once (:func:`refuse`), so a refused attempt stays on
  record though the request fails.

The dashboard's live reads are decided and recorded in batches by the access gate
(:mod:`vigil.api.reads`), by the same rules.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from fastapi import Request

from vigil.api import repo
from vigil.api.access import Principal
from vigil.api.errors import ApiError
from vigil.core.errors import NotFound

Conn = psycopg.Connection[Any]


def action_of(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "name", None) or request.url.path)


def refuse(
    conn: Conn,
    request: Request,
    principal: Principal | None,
    error: ApiError | NotFound,
    *,
    patient_id: UUID | None = None,
) -> ApiError | NotFound:
    """Record a refused attempt (committed now) and return the error to raise."""
    if patient_id is None:
        patient_id = _path_patient(conn, request)
    status = error.status if isinstance(error, ApiError) else 404
    # A refusal stores nothing but its audit row: like a read's, its commit does not wait
    # for the WAL flush, whatever the method.
    conn.execute("SET LOCAL synchronous_commit = off")
    _record(conn, request, principal, patient_id, allowed=False, status=status,
            detail={"reason": str(error)[:300]})  # fmt: skip
    conn.commit()
    return error


def _path_patient(conn: Conn, request: Request) -> UUID | None:
    params = request.path_params
    try:
        if "patient_id" in params:
            return UUID(str(params["patient_id"]))
        if "alert_id" in params:
            return repo.alert_patient(conn, alert_id=UUID(str(params["alert_id"])))
    except ValueError:
        return None
    return None


def audit_allowed(
    conn: Conn,
    request: Request,
    principal: Principal,
    *,
    patient_id: UUID | None,
    detail: dict[str, Any] | None = None,
) -> None:
    request.state.audited = True
    _record(conn, request, principal, patient_id, allowed=True, status=200, detail=detail)


def audit_change(conn: Conn, request: Request) -> None:
    """Record a change that no scope check recorded (care teams, users, webhooks, sign-in),
    in the change's own transaction; those about a patient were recorded by their check."""
    if getattr(request.state, "audited", False):
        return
    principal = getattr(request.state, "principal", None)
    _record(conn, request, principal, None, allowed=True, status=200)


def _record(
    conn: Conn,
    request: Request,
    principal: Principal | None,
    patient_id: UUID | None,
    *,
    allowed: bool,
    status: int,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit row for this request: who, which route, about which patient, the outcome."""
    repo.record_audit(
        conn,
        principal=principal,
        action=action_of(request),
        method=request.method,
        path=request.url.path,
        patient_id=patient_id,
        allowed=allowed,
        status=status,
        detail=detail,
    )
