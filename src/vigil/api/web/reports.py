"""The reports' pages: a patient's AGP, home blood pressure and weight diary (the API's HTML,
the same the PDF is made from, shown in the dashboard's frame), the clinic list, and the
reports' stylesheet."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from vigil.api.web.pages import render
from vigil.reports import STYLESHEET

router = APIRouter(include_in_schema=False)
KINDS = ("agp", "home-bp", "hf-weight")


@router.get("/patients/{patient_id}/reports/{kind}", response_class=HTMLResponse)
def report_page(request: Request, patient_id: UUID, kind: str) -> HTMLResponse:
    """A patient's report (the data comes from the API, scoped; an unknown kind is the API's
    404 shown by the page)."""
    return render(request, "report.html", ("reports",), patient_id=patient_id, kind=kind)


@router.get("/feed/reports/{kind}", response_class=HTMLResponse)
def my_report_page(request: Request, kind: str) -> HTMLResponse:
    """The patient's own report, from the phone feed."""
    return render(request, "report.html", ("reports",), patient_id="me", kind=kind)


@router.get("/reports/clinic", response_class=HTMLResponse)
def clinic_page(request: Request) -> HTMLResponse:
    """The care team's patients with their CGM measures, sortable."""
    return render(request, "clinic.html", ("reports",))


@router.get("/reports/report.css")
def report_stylesheet() -> FileResponse:
    return FileResponse(STYLESHEET, media_type="text/css")
