"""Pages of the dashboard served from this package (templates and assets live beside it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from vigil.core.errors import NotFound

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
ASSETS = {p.name: p for p in STATIC.iterdir() if p.suffix in (".js", ".css")}
MEDIA = {".js": "text/javascript", ".css": "text/css"}

router = APIRouter(include_in_schema=False)

GROUP_LABELS = (
    ("critical", "Open critical alerts"),
    ("out_of_target", "Out of target"),
    ("not_measuring", "Not measuring"),
    ("stable", "Stable"),
)


@router.get("/triage", response_class=HTMLResponse)
def triage_page(request: Request) -> HTMLResponse:
    """Who needs the care team first (the data comes from ``/api/v1/triage``, scoped)."""
    return templates.TemplateResponse(
        request, "triage.html", {"groups": GROUP_LABELS, "window_days": 14}
    )


@router.get("/web-static/{name}")
def asset(name: str) -> FileResponse:
    """This package's scripts and styles (a fixed list: no path from the caller is opened)."""
    path = ASSETS.get(name)
    if path is None:
        raise NotFound(f"no asset {name}")
    return FileResponse(path, media_type=MEDIA[path.suffix])
