"""FHIR R4 export of a patient's readings, and the service accounts EMRs read FHIR as."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import AwareDatetime

from vigil.api import fhir_repo, repo
from vigil.api.access import Role
from vigil.api.deps import AdminUser, ConnDep, PatientDep
from vigil.api.fhir_edge import FhirResponse
from vigil.api.fhir_models import ServiceAccountCreate, ServiceAccountPublic
from vigil.api.fhir_reads import kinds_of_metric, observation_page
from vigil.api.fhir_summary import cgm_summary
from vigil.api.routers.fhir_r4 import FHIR_BASE
from vigil.api.routers.patients import time_range
from vigil.api.security import hash_password, new_token, token_digest
from vigil.api.state import state_of
from vigil.clinical.glycaemia import REPORT_DAYS
from vigil.core.errors import NotFound
from vigil.core.metrics import Metric
from vigil.fhir import collection

router = APIRouter(tags=["fhir"])


@router.get(
    "/patients/{patient_id}/fhir/observations",
    response_model=None,
    responses={
        200: {
            "content": {"application/fhir+json": {}},
            "description": "A FHIR R4 Bundle (type collection): the Patient, the Devices and"
            " the Observations (HL7 Vital Signs, KR Core, CGM IG), newest first",
        }
    },
)
def export_observations(
    scope: PatientDep,
    conn: ConnDep,
    request: Request,
    metric: Metric | None = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> FhirResponse:
    """Readings as Observations (default: the last 30 days); ``limit`` counts Observations
    (a cuff's systolic and diastolic are one panel)."""
    lo, hi = time_range(start, end, timedelta(days=30))
    page = observation_page(
        conn,
        patient_id=scope.patient_id,
        kinds=kinds_of_metric(metric),
        start=lo,
        end=hi - timedelta(microseconds=1),
        after=None,
        count=limit,
    )
    base = str(request.base_url).rstrip("/") + FHIR_BASE
    return FhirResponse(collection(base, page.included + page.matches))


@router.get(
    "/patients/{patient_id}/fhir/cgm-summary",
    response_model=None,
    responses={
        200: {
            "content": {"application/fhir+json": {}},
            "description": "A FHIR R4 Bundle (type collection): the Patient, the CGM IG's"
            " summary Observation (107931-8) and its six member Observations; only the Patient"
            " when the period has too few CGM readings for a summary",
        }
    },
)
def export_cgm_summary(
    scope: PatientDep,
    conn: ConnDep,
    request: Request,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> FhirResponse:
    """The CGM summary (HL7 CGM IG) of the AGP's period (default: the last 14 days), the same
    figures as ``GET .../reports/agp`` with the same ``start`` and ``end``."""
    lo, hi = time_range(start, end, timedelta(days=REPORT_DAYS))
    zone = state_of(request.app).settings.clinic_time_zone
    found, patients = cgm_summary(
        conn, patient_id=scope.patient_id, start=lo, end=hi, time_zone=zone
    )
    base = str(request.base_url).rstrip("/") + FHIR_BASE
    return FhirResponse(collection(base, patients + found))


@router.post("/service-accounts", status_code=status.HTTP_201_CREATED)
def create_service_account(
    body: ServiceAccountCreate, admin: AdminUser, conn: ConnDep
) -> ServiceAccountPublic:
    """A service account of the admin's tenant for an EMR's FHIR reads (``/fhir/r4``), member
    of the given care teams; its token is in this answer and never again. It has no usable
    password, and the REST API refuses its token."""
    for team_id in body.care_team_ids:
        row = conn.execute(
            "SELECT 1 FROM care_teams WHERE id = %s AND tenant_id = %s",
            (team_id, admin.tenant_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"no care team {team_id} in this tenant")
    user_id = repo.create_user(
        conn,
        tenant_id=admin.tenant_id,
        email=f"service-{secrets.token_hex(8)}@service.invalid",
        display_name=body.name,
        role=Role.CLINICIAN,
        password_hash=hash_password(secrets.token_urlsafe(32)),
    )
    fhir_repo.mark_service_account(conn, user_id=user_id)
    for team_id in body.care_team_ids:
        repo.add_member(conn, team_id=team_id, user_id=user_id, tenant_id=admin.tenant_id)
    token = new_token()
    expires_at = datetime.now(UTC) + timedelta(days=body.valid_days)
    repo.store_token(conn, digest=token_digest(token), user_id=user_id, expires_at=expires_at)
    return ServiceAccountPublic(
        user_id=user_id,
        name=body.name,
        token=token,
        expires_at=expires_at,
        care_team_ids=body.care_team_ids,
    )
