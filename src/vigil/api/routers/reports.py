"""A patient's reports for the visit: the AGP (``/patients/{id}/reports/agp``), home blood
pressure (``.../reports/home-bp``) and the heart-failure weight diary (``.../reports/hf-weight``)
as JSON, the readings behind them as CSV (``?format=csv``), their HTML and its PDF. Scoped and
audited as every patient read."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AwareDatetime

from vigil.api import clinical_repo
from vigil.api.audit import audit_allowed
from vigil.api.deps import ConnDep, MePatientDep, PatientDep, StaffUser
from vigil.api.routers.patients import time_range
from vigil.api.state import state_of
from vigil.api.web import i18n
from vigil.clinical.glycaemia import REPORT_DAYS
from vigil.clinical.home_bp import HOME_BP_DAYS
from vigil.core.languages import Lang
from vigil.core.metrics import Metric
from vigil.reports import (
    Agp,
    ClinicRow,
    HfWeight,
    HomeBp,
    SortKey,
    build_agp,
    build_clinic_list,
    build_hf_weight,
    build_home_bp,
    render_agp,
    render_hf_weight,
    render_home_bp,
    to_pdf,
)
from vigil.streaming import load_care_plan

router = APIRouter(prefix="/patients", tags=["reports"])
clinic = APIRouter(prefix="/reports", tags=["reports"])
mine = APIRouter(prefix="/me/reports", tags=["me"])
CLINIC_MAX_PATIENTS = 10_000
HF_DAYS = 30
"""The weight diary's default period (days)."""
Format = Literal["json", "csv", "html", "pdf"]
DOCUMENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "JSON, or with ?format= (or Accept: application/pdf) CSV, HTML, PDF",
    }
}


def _period(
    start: datetime | None, end: datetime | None, days: int = REPORT_DAYS
) -> tuple[datetime, datetime]:
    """The API's rule for a period (vigil.api.routers.patients.time_range): at most 366 days,
    an inverted one selects nothing."""
    return time_range(start, end, timedelta(days=days))


def _csv(conn: ConnDep, patient_id: UUID, metrics: tuple[Metric, ...], lo: datetime,
         hi: datetime) -> Response:  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", "metric", "value", "unit", "censored", "device_id"])
    for metric in metrics:
        rows = clinical_repo.raw_readings(
            conn, patient_id=patient_id, metric=metric, start=lo, end=hi, limit=200_000
        )
        for r in reversed(rows):
            writer.writerow([r["time"].isoformat(), r["metric"], r["value"], r["unit"],
                             r["censored"] or "", r["device_id"]])  # fmt: skip
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


def _format(request: Request, given: Format | None) -> Format:
    """``?format=``, else a PDF for ``Accept: application/pdf``, else JSON."""
    if given is not None:
        return given
    return "pdf" if "application/pdf" in request.headers.get("accept", "") else "json"


def _document(article: str, chosen: Format, lang: Lang, title: str) -> Response:
    headers = {"Content-Language": lang, "Vary": "Accept, Accept-Language, Cookie"}
    if chosen == "pdf":
        pdf = to_pdf(article, lang=lang, title=title)
        return Response(pdf, media_type="application/pdf", headers=headers)
    return Response(article, media_type="text/html; charset=utf-8", headers=headers)


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """A report's period and format from the query string (or ``Accept``), and its request."""

    request: Request
    start: datetime | None
    end: datetime | None
    format: Format


def report_query(
    request: Request,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    format: Format | None = None,
) -> ReportQuery:
    return ReportQuery(request, start, end, _format(request, format))


QueryDep = Annotated[ReportQuery, Depends(report_query)]
R = TypeVar("R", Agp, HomeBp, HfWeight)


def _answer(
    conn: ConnDep,
    q: ReportQuery,
    patient_id: UUID,
    *,
    days: int,
    metrics: tuple[Metric, ...],
    build: Callable[[datetime, datetime, str], R],
    render: Callable[..., str],
    title: str,
) -> R | Response:
    """A report in the format asked for: the readings behind it (CSV), its data (JSON), or
    its HTML and the PDF made from that HTML, in the caller's language."""
    lo, hi = _period(q.start, q.end, days)
    if q.format == "csv":
        return _csv(conn, patient_id, metrics, lo, hi)
    report = build(lo, hi, state_of(q.request.app).settings.clinic_time_zone)
    if q.format == "json":
        return report
    lang = i18n.negotiate(q.request)
    patient = clinical_repo.get_patient(conn, patient_id=patient_id)["display_name"]
    article = render(report, lang=lang, patient=patient)
    return _document(article, q.format, lang, f"{title} {patient}")


def _agp(conn: ConnDep, q: ReportQuery, patient_id: UUID) -> Agp | Response:
    def build(lo: datetime, hi: datetime, zone: str) -> Agp:
        return build_agp(conn, patient_id=patient_id, start=lo, end=hi, time_zone=zone)

    return _answer(conn, q, patient_id, days=REPORT_DAYS, metrics=(Metric.GLUCOSE,),
                   build=build, render=render_agp, title="AGP")  # fmt: skip


def _home_bp(conn: ConnDep, q: ReportQuery, patient_id: UUID) -> HomeBp | Response:
    def build(lo: datetime, hi: datetime, zone: str) -> HomeBp:
        plan = load_care_plan(conn, patient_id=patient_id)
        return build_home_bp(conn, patient_id=patient_id, start=lo, end=hi, time_zone=zone,
                             plan=plan)  # fmt: skip

    metrics = (Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC)
    return _answer(conn, q, patient_id, days=HOME_BP_DAYS, metrics=metrics, build=build,
                   render=render_home_bp, title="Home BP")  # fmt: skip


@router.get("/{patient_id}/reports/agp", response_model=Agp, responses=DOCUMENTS)
def agp_report(scope: PatientDep, conn: ConnDep, q: QueryDep) -> Agp | Response:
    """The ambulatory glucose profile (default: the last 14 days): time in ranges weighted by
    time, mean, GMI, CV, the 24-hour percentiles in the clinic's time zone, each day, the lows."""
    return _agp(conn, q, scope.patient_id)


@mine.get("/agp", response_model=Agp, responses=DOCUMENTS)
def my_agp_report(scope: MePatientDep, conn: ConnDep, q: QueryDep) -> Agp | Response:
    """Your own glucose profile, as your care team sees it."""
    return _agp(conn, q, scope.patient_id)


@router.get("/{patient_id}/reports/home-bp", response_model=HomeBp, responses=DOCUMENTS)
def home_bp_report(scope: PatientDep, conn: ConnDep, q: QueryDep) -> HomeBp | Response:
    """Home blood pressure by the ESH 2023 / KSH 2022 protocol (default: the last 7 days):
    morning, evening and overall averages of the sittings after the first day, against the
    patient's target."""
    return _home_bp(conn, q, scope.patient_id)


@mine.get("/home-bp", response_model=HomeBp, responses=DOCUMENTS)
def my_home_bp_report(scope: MePatientDep, conn: ConnDep, q: QueryDep) -> HomeBp | Response:
    """Your own home blood pressure, as your care team sees it."""
    return _home_bp(conn, q, scope.patient_id)


def _hf_weight(conn: ConnDep, q: ReportQuery, patient_id: UUID) -> HfWeight | Response:
    def build(lo: datetime, hi: datetime, zone: str) -> HfWeight:
        plan = load_care_plan(conn, patient_id=patient_id)
        return build_hf_weight(conn, patient_id=patient_id, start=lo, end=hi, time_zone=zone,
                               plan=plan)  # fmt: skip

    return _answer(conn, q, patient_id, days=HF_DAYS, metrics=(Metric.BODY_WEIGHT,),
                   build=build, render=render_hf_weight, title="HF weight")  # fmt: skip


@router.get("/{patient_id}/reports/hf-weight", response_model=HfWeight, responses=DOCUMENTS)
def hf_weight_report(scope: PatientDep, conn: ConnDep, q: QueryDep) -> HfWeight | Response:
    """The heart-failure weight diary (default: the last 30 days): each day's first weighing,
    the usual weight and its limit every day, where the gain and personal-baseline rules
    fired, the days with alerts."""
    return _hf_weight(conn, q, scope.patient_id)


@mine.get("/hf-weight", response_model=HfWeight, responses=DOCUMENTS)
def my_hf_weight_report(scope: MePatientDep, conn: ConnDep, q: QueryDep) -> HfWeight | Response:
    """Your own weight diary, as your care team sees it."""
    return _hf_weight(conn, q, scope.patient_id)


@clinic.get("/clinic", response_model=list[ClinicRow])
def clinic_list(
    user: StaffUser,
    conn: ConnDep,
    request: Request,
    sort: SortKey = "tir",
    descending: bool = False,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> list[ClinicRow]:
    """Your care teams' patients (an admin: the tenant's) with their CGM measures over the
    period (default: the last 14 days): time in range, below range, above range, GMI, CV and
    wear; lowest time in range first unless sorted otherwise; patients without CGM last."""
    lo, hi = _period(start, end)
    visible = clinical_repo.list_patients(conn, principal=user, limit=CLINIC_MAX_PATIENTS, offset=0)
    rows = build_clinic_list(
        conn,
        patients=[(p["id"], p["display_name"]) for p in visible],
        start=lo,
        end=hi,
        sort=sort,
        descending=descending,
    )
    audit_allowed(conn, request, user, patient_id=None, detail={"patients": len(rows)})
    return rows
