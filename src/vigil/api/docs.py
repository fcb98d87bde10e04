"""The interactive API docs at ``/api/v1/docs``: Swagger UI from Vigil's own copy, never a CDN.

``scripts/setup.sh`` installs the pinned ``swagger-ui-dist`` from npm into the gitignored
``.vigil-node`` folder; the page loads its script and style from ``/api/v1/docs/assets`` and
its start-up from ``/static/api-docs.js`` (the CSP allows no inline script). Served only when
the OpenAPI document is (``api_openapi``); without the assets the page says how to get them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(__file__).resolve().parents[3] / ".vigil-node/node_modules/swagger-ui-dist"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{prefix}/docs/assets/swagger-ui.css"></head>
<body><main id="swagger-ui" data-openapi="{prefix}/openapi.json"></main>
<script src="{prefix}/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script></body></html>
"""
_MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil API</title></head>
<body><main><h1>Vigil API</h1><p>The docs page's assets (swagger-ui-dist) are not installed:
run scripts/setup.sh. The OpenAPI document is at <a href="{prefix}/openapi.json">
{prefix}/openapi.json</a>.</p></main></body></html>
"""


def install_docs(app: FastAPI, prefix: str, assets: Path = SWAGGER_UI) -> None:
    present = (assets / "swagger-ui-bundle.js").is_file()
    if present:
        app.mount(f"{prefix}/docs/assets", StaticFiles(directory=assets), name="api-docs")

    @app.get(f"{prefix}/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        page = _PAGE if present else _MISSING
        return HTMLResponse(page.format(prefix=prefix), status_code=200 if present else 503)
