"""The admin console's pages: users and roles, care teams, patients, devices, webhooks and
the audit log of the administrator's tenant.

The pages are shells: their data comes from the API (``/api/v1``, admin-only and scoped to
the caller's tenant) through the browser session, so a page reveals nothing by itself. Every
string is in the ``admin`` namespace of the message catalogue, in Korean and English.
"""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from vigil.api.models import DeviceKind, SeverityName
from vigil.api.web.pages import render
from vigil.core.conditions import Condition
from vigil.core.errors import NotFound

SECTIONS = ("users", "teams", "patients", "devices", "webhooks", "audit")

router = APIRouter(include_in_schema=False)


@router.get("/admin")
def admin_home() -> RedirectResponse:
    return RedirectResponse("/admin/users", status_code=307)


@router.get("/admin/{section}", response_class=HTMLResponse)
def admin_page(section: str, request: Request) -> HTMLResponse:
    if section not in SECTIONS:
        raise NotFound(f"no admin page {section!r}")
    return render(
        request,
        f"admin/{section}.html",
        ("admin",),
        section=section,
        sections=SECTIONS,
        conditions=[c.value for c in Condition],
        device_kinds=get_args(DeviceKind),
        severities=get_args(SeverityName),
    )
