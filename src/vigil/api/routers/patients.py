"""Patients: enrol, update, care plan; their readings raw and in ``time_bucket`` rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime

from vigil.api import clinical_repo, identity, repo
from vigil.api.audit import audit_allowed
from vigil.api.deps import (
    AdminUser,
    ConnDep,
    PatientDep,
    PatientReadDep,
    StaffUser,
    cached_read,
)
from vigil.api.identity import PatientIdentity
from vigil.api.models import (
    CarePlan,
    CarePlanDefaults,
    CarePlanPreview,
    CarePlanPreviewIn,
    CarePlanPublic,
    PatientCreate,
    PatientPublic,
    PatientUpdate,
    PreviewAlert,
    PreviewOutcome,
    ReadingPublic,
    RollupPublic,
)
from vigil.api.paging import Offset
from vigil.api.preview import opened_alerts
from vigil.api.state import state_of
from vigil.clinical.careplan import CarePlan as DetectorPlan
from vigil.clinical.careplan import as_stored
from vigil.core.errors import NotFound
from vigil.core.metrics import SPECS, Metric
from vigil.core.models import StoredReading
from vigil.storage import admin
from vigil.streaming import replay

router = APIRouter(prefix="/patients", tags=["patients"])
live_reads = APIRouter(prefix="/patients", tags=["patients"])
"""The dashboard's live read, included before every other route (vigil.api.app)."""

BUCKETS = {
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
}
BucketName = Literal["5m", "15m", "1h", "6h", "1d"]
Limit = Annotated[int, Query(ge=1, le=1000)]
MAX_SPAN = timedelta(days=366)
PREVIEW_MAX_READINGS = 50_000


def time_range(
    start: datetime | None, end: datetime | None, default: timedelta
) -> tuple[datetime, datetime]:
    """``[start, end)``; ``end`` defaults to now, ``start`` to ``end - default``. A range longer
    than 366 days is cut to the 366 days before ``end``; an empty range selects nothing."""
    end = end or datetime.now(UTC)
    try:
        earliest = end - MAX_SPAN
        start = start or end - default
    except OverflowError:
        return end, end
    return max(start, earliest), end


@live_reads.get("/{patient_id}/readings/rollup", response_model=RollupPublic)
async def rollup_readings(
    scope: PatientReadDep,
    request: Request,
    metric: Metric,
    bucket: BucketName = "1h",
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> Response:
    """min / avg / max / count per ``time_bucket`` (default: the last 30 days, hourly)."""
    lo, hi = time_range(start, end, timedelta(days=30))
    return await cached_read(
        request,
        ("rollup", scope.patient_id, metric, bucket, start, end),
        lambda: clinical_repo.rollup_query(
            patient_id=scope.patient_id,
            metric=metric,
            bucket=BUCKETS[bucket],
            bucket_name=bucket,
            start=lo,
            end=hi,
        ),
        ttl_s=state_of(request.app).settings.api_chart_cache_s,
        patient_id=scope.patient_id,
    )


@router.get("", response_model=list[PatientPublic])
def list_patients(
    conn: ConnDep,
    user: StaffUser,
    request: Request,
    limit: Limit = 100,
    offset: Offset = 0,
    discharged: Annotated[
        bool, Query(description="Include discharged patients (left out by default)")
    ] = False,
) -> list[PatientPublic]:
    """The patients you may see under monitoring: all of your tenant (admin) or your care
    teams' (clinician); ``discharged=true`` adds those whose monitoring has ended."""
    rows = clinical_repo.list_patients(
        conn, principal=user, limit=limit, offset=offset, discharged=discharged
    )
    audit_allowed(conn, request, user, patient_id=None, detail={"patients": len(rows)})
    return [PatientPublic.model_validate(r) for r in rows]


@router.post("", response_model=PatientPublic, status_code=status.HTTP_201_CREATED)
def enrol_patient(
    body: PatientCreate, conn: ConnDep, user: AdminUser, request: Request
) -> PatientPublic:
    """Enrol a patient in your tenant, optionally into a care team."""
    if body.care_team_id is not None and not repo.team_in_tenant(
        conn, team_id=body.care_team_id, tenant_id=user.tenant_id
    ):
        raise NotFound(f"no care team {body.care_team_id}")
    patient_id = admin.create_patient(
        conn,
        tenant_id=user.tenant_id,
        display_name=body.display_name,
        conditions=list(body.conditions),
    )
    if body.care_team_id is not None:
        repo.add_team_patient(
            conn, team_id=body.care_team_id, patient_id=patient_id, tenant_id=user.tenant_id
        )
    audit_allowed(conn, request, user, patient_id=patient_id)
    return PatientPublic.model_validate(clinical_repo.get_patient(conn, patient_id=patient_id))


@router.get("/{patient_id}", response_model=PatientPublic)
def get_patient(scope: PatientDep, conn: ConnDep) -> PatientPublic:
    return PatientPublic.model_validate(
        clinical_repo.get_patient(conn, patient_id=scope.patient_id)
    )


@router.patch("/{patient_id}", response_model=PatientPublic)
def update_patient(body: PatientUpdate, scope: PatientDep, conn: ConnDep) -> PatientPublic:
    row = clinical_repo.update_patient(
        conn,
        patient_id=scope.patient_id,
        display_name=body.display_name,
        conditions=list(body.conditions) if body.conditions is not None else None,
        birth_date=body.birth_date,
        record_number=body.record_number,
    )
    return PatientPublic.model_validate(row)


@router.get("/{patient_id}/identity", response_model=PatientIdentity)
def get_identity(scope: PatientDep, conn: ConnDep, request: Request) -> PatientIdentity:
    """The header of every patient view: name, date of birth and age (in the clinic's zone),
    record number, conditions, devices with their last sync, care teams and their members."""
    today = datetime.now(ZoneInfo(state_of(request.app).settings.clinic_time_zone)).date()
    return PatientIdentity.model_validate(
        identity.patient_identity(conn, patient_id=scope.patient_id, today=today)
    )


@router.get("/{patient_id}/care-plan", response_model=CarePlanPublic)
def get_care_plan(scope: PatientDep, conn: ConnDep) -> CarePlanPublic:
    """Targets and thresholds; empty until a care team sets them."""
    return CarePlanPublic.model_validate(
        clinical_repo.get_care_plan(conn, patient_id=scope.patient_id)
    )


@router.get("/{patient_id}/care-plan/defaults", response_model=CarePlanDefaults)
def get_care_plan_defaults(scope: PatientDep, conn: ConnDep) -> CarePlanDefaults:
    """What the detectors use for this patient where the care plan sets nothing (one source:
    vigil.clinical.careplan, for the patient's conditions)."""
    conditions = set(clinical_repo.get_patient(conn, patient_id=scope.patient_id)["conditions"])
    plan = DetectorPlan.from_stored(conditions, None, None)
    bounds = {m: {"low": s.low, "high": s.high} for m, s in SPECS.items()}
    return CarePlanDefaults.model_validate(
        {"thresholds": as_stored(plan.thresholds), "targets": as_stored(plan.targets)}
        | {"bounds": bounds, "insulin": plan.insulin.as_stored()}
    )


@router.put("/{patient_id}/care-plan", response_model=CarePlanPublic)
def put_care_plan(body: CarePlan, scope: PatientDep, conn: ConnDep) -> CarePlanPublic:
    dumped = body.model_dump(mode="json", exclude_none=True)
    row = clinical_repo.put_care_plan(
        conn,
        patient_id=scope.patient_id,
        targets=dumped["targets"],
        thresholds=dumped["thresholds"],
        user_id=scope.principal.user_id,
        insulin=dumped.get("insulin"),
    )
    return CarePlanPublic.model_validate(row)


@router.post("/{patient_id}/care-plan/preview", response_model=CarePlanPreview)
def preview_care_plan(
    body: CarePlanPreviewIn, scope: PatientDep, conn: ConnDep, request: Request
) -> CarePlanPreview:
    """Replay the patient's stored history (30 days by default) through the detectors with the
    proposed thresholds: how many alerts, of which kinds, beside today's thresholds."""
    end = datetime.now(UTC)
    rows = clinical_repo.raw_readings(
        conn,
        patient_id=scope.patient_id,
        metric=None,
        start=end - timedelta(days=body.days),
        end=end,
        limit=PREVIEW_MAX_READINGS,
    )
    readings = [
        StoredReading(r["time"], scope.patient_id, Metric(r["metric"]), r["value"], r["device_id"],
                      r["time"])
        for r in reversed(rows)
    ]  # fmt: skip
    patient = clinical_repo.get_patient(conn, patient_id=scope.patient_id)
    plan = clinical_repo.get_care_plan(conn, patient_id=scope.patient_id)
    proposed = body.model_dump(mode="json", exclude_none=True)["thresholds"]

    def outcome(thresholds: dict[str, Any]) -> PreviewOutcome:
        found = replay(
            readings,
            conditions=patient["conditions"],
            thresholds=thresholds,
            targets=plan.get("targets") or {},
        )
        opened = [PreviewAlert(cause=c, time=t) for c, t in opened_alerts(found)]
        by_cause: dict[str, int] = {}
        for a in opened:
            by_cause[a.cause] = by_cause.get(a.cause, 0) + 1
        return PreviewOutcome(alerts=len(opened), by_cause=dict(sorted(by_cause.items())),
                              opened=opened)  # fmt: skip

    current, after = outcome(plan.get("thresholds") or {}), outcome(proposed)
    before = {(a.cause, a.time) for a in current.opened}
    now_ = {(a.cause, a.time) for a in after.opened}
    return CarePlanPreview(
        days=body.days,
        readings=len(readings),
        engine="streaming",
        current=current,
        proposed=after,
        new=[a for a in after.opened if (a.cause, a.time) not in before],
        gone=[a for a in current.opened if (a.cause, a.time) not in now_],
    )


@router.get("/{patient_id}/readings", response_model=list[ReadingPublic])
def list_readings(
    scope: PatientDep,
    conn: ConnDep,
    metric: Metric | None = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ReadingPublic]:
    """Raw readings, newest first (default: the last 7 days)."""
    lo, hi = time_range(start, end, timedelta(days=7))
    rows = clinical_repo.raw_readings(
        conn, patient_id=scope.patient_id, metric=metric, start=lo, end=hi, limit=limit
    )
    return [ReadingPublic.model_validate(r) for r in rows]
