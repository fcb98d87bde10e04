"""Pages of the dashboard: Jinja templates beside this package, one layout (base.html), the
message catalogue (i18n) for every string, assets under static/ served at /static."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from vigil.api.state import state_of
from vigil.api.web import i18n
from vigil.clinical.display import display_tables
from vigil.core.metrics import MGDL_PER_MMOL, TREATMENTS

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


@pass_context
def _t(ctx: Context, key: str, **params: Any) -> str:
    return i18n.translate(ctx["lang"], key, **params)


templates.env.globals["t"] = _t

router = APIRouter(include_in_schema=False)

GROUPS = ("critical", "out_of_target", "not_measuring", "stable")


def render(request: Request, name: str, spaces: tuple[str, ...], **context: Any) -> HTMLResponse:
    """The template ``name`` in the negotiated language, with the messages its scripts need
    embedded; a ``?lang=`` choice is kept in the ``vigil_lang`` cookie."""
    lang = i18n.negotiate(request)
    zone = state_of(request.app).settings.clinic_time_zone
    messages = i18n.messages_for(lang, spaces)
    shared = {
        "lang": lang,
        "zone": zone,
        "mgdl_per_mmol": MGDL_PER_MMOL,
        "treatments": sorted(m.value for m in TREATMENTS),
        **display_tables(),  # decimals and unit spellings: vigil.clinical.display
    }
    page = {"lang": lang, "zone": zone, "messages": {**shared, **messages}}
    response = templates.TemplateResponse(request, name, {**page, "spaces": spaces, **context})
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="strict", path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def inbox_page(request: Request) -> HTMLResponse:
    """The care team's dashboard: alert inbox (live over SSE) and the patient list."""
    return render(request, "inbox.html", ("inbox", "alerts", "metrics"))


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient_id: UUID) -> HTMLResponse:
    """A patient's charts, alerts and care plan (the data comes from the API, scoped)."""
    return render(request, "patient.html", ("patient", "alerts", "metrics"))


@router.get("/feed", response_class=HTMLResponse)
def feed_page(request: Request) -> HTMLResponse:
    """The patient's own feed, phone-sized."""
    return render(request, "feed.html", ("feed", "metrics"))


@router.get("/triage", response_class=HTMLResponse)
def triage_page(request: Request) -> HTMLResponse:
    """Who needs the care team first (the data comes from ``/api/v1/triage``, scoped)."""
    return render(request, "triage.html", ("triage", "metrics"), groups=GROUPS, window_days=14)
