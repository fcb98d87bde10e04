"""A Nightscout-compatible API under ``/ns/`` (docs/nightscout.md): a patient's uploader app
(xDrip+, AAPS, Loop, Trio, nightscout-connect) is a Vigil device, and what it uploads feeds the
same reading contract, storage, stream, detection and alerts as MQTT."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from vigil.api.nightscout import v1, v3
from vigil.api.nightscout.state import attach
from vigil.api.nightscout.translate import epoch_ms
from vigil.api.nightscout.uploads import NightscoutIngest
from vigil.ingest import ReadingSink
from vigil.settings import Settings

PREFIX = "/ns"


def install(
    app: FastAPI, settings: Settings, *, database_url: str, sink: ReadingSink | None
) -> NightscoutIngest:
    """Serve the Nightscout API under ``/ns``; returns its ingest path (close it at shutdown)."""
    ingest = NightscoutIngest(settings, database_url, sink)
    attach(app, ingest)
    router = APIRouter(prefix=PREFIX)
    router.include_router(v1.router)
    router.include_router(v3.router)
    # Nightscout's protocol, not Vigil's own API: documented in docs/nightscout.md, kept out
    # of the /api/v1 OpenAPI document (whose rules, such as a limit on every list, are ours).
    app.include_router(router, include_in_schema=False)
    return ingest


__all__ = ["PREFIX", "NightscoutIngest", "epoch_ms", "install"]
