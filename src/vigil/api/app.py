"""The FastAPI application: ``create_app(settings, request_pool)``, lifespan-friendly.

Three pools, one per purpose (vigil.api.state): the request pool (created closed by the
caller, opened here, in the lifespan: every request's transaction), the dashboard's live-read
pool and the access gate's pool (both made and opened here). The alert-change listener (for
SSE) starts and stops with them.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from psycopg_pool import ConnectionPool

from vigil.alerts import AlertService
from vigil.api.broadcast import AlertBroadcaster
from vigil.api.deps import BearerDep
from vigil.api.docs import install_docs
from vigil.api.edge import Edge, EdgePolicy
from vigil.api.errors import ERROR_RESPONSES, Unauthenticated, install_error_handlers
from vigil.api.metrics import exposition, registry_for
from vigil.api.nightscout import install as install_nightscout
from vigil.api.reads import AccessGate, ReadCache, api_role_pool
from vigil.api.routers import (
    act_now,
    admin,
    alerts,
    auth,
    console,
    devices,
    fhir,
    fhir_r4,
    health,
    me,
    patients,
    reports,
    teams,
)
from vigil.api.shortcut import LiveReadShortcut
from vigil.api.state import VigilState, state_of
from vigil.api.throttle import SignInThrottle, ThrottlePolicy
from vigil.api.tokens import TokenCache
from vigil.api.web import router as web_router
from vigil.api.web.pages import STATIC as WEB_STATIC
from vigil.core.errors import NotFound
from vigil.ingest import ReadingSink
from vigil.settings import Settings

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings,
    request_pool: ConnectionPool[Any],
    *,
    alert_service: AlertService | None = None,
    sync_broker: Callable[[Any], object] | None = None,
    manage_pool: bool = True,
    readings_sink: ReadingSink | None = None,
) -> FastAPI:
    """Build the app.

    ``sync_broker(conn)`` is called after devices change (provision, revoke), once committed, to
    rewrite the broker's password file (e.g. ``servers.sync_broker_credentials(conn, root)``).
    ``manage_pool`` opens and closes ``request_pool`` with the app's lifespan.
    ``readings_sink`` hands the Nightscout API's stored readings to the readings stream (as
    ingest's sink does); without one they are stored and not handed on.
    """
    conninfo = (
        request_pool.conninfo if isinstance(request_pool.conninfo, str) else request_pool.conninfo()
    )
    broadcaster = AlertBroadcaster(conninfo)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_pool:
            await to_thread.run_sync(lambda: request_pool.open(wait=True, timeout=30.0))
        await live_read_pool.open(wait=True, timeout=30.0)
        await access_gate_pool.open(wait=True, timeout=30.0)
        await broadcaster.start()
        try:
            yield
        finally:
            await broadcaster.stop()
            await to_thread.run_sync(nightscout.close)
            await access_gate.stop()
            await live_read_pool.close()
            await access_gate_pool.close()
            if manage_pool:
                await to_thread.run_sync(request_pool.close)

    app = FastAPI(
        title="Vigil",
        version="1",
        summary="Remote chronic-disease monitoring: patients, readings, alerts.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # The document maps every operation for an attacker too: served only when set, with
        # the docs page (vigil.api.docs: Vigil's own Swagger UI; FastAPI's uses a CDN).
        openapi_url=f"{API_PREFIX}/openapi.json" if settings.api_openapi else None,
        docs_url=None,
        redoc_url=None,
    )
    live_read_pool = api_role_pool(conninfo, max_size=4, name="vigil-live-reads")
    # The gate's own: the live reads' queries never delay a decision.
    access_gate_pool = api_role_pool(conninfo, max_size=1, name="vigil-access-gate")
    access_gate = AccessGate(access_gate_pool)
    read_cache = ReadCache(ttl_s=settings.api_read_cache_s)
    broadcaster.on_change = read_cache.drop_lists
    broadcaster.on_readings = read_cache.drop_patients
    broadcaster.on_listening = read_cache.drop_all
    app.state.vigil = VigilState(
        settings=settings,
        request_pool=request_pool,
        request_slots=asyncio.Semaphore(request_pool.max_size),
        live_read_pool=live_read_pool,
        access_gate_pool=access_gate_pool,
        access_gate=access_gate,
        read_cache=read_cache,
        tokens=TokenCache(),
        sign_in_throttle=SignInThrottle(
            ThrottlePolicy(
                free_per_account_address=settings.api_sign_in_free_failures,
                max_delay_s=settings.api_sign_in_max_delay_s,
            )
        ),
        alert_service=alert_service or AlertService(),
        broadcaster=broadcaster,
        sync_broker=sync_broker,
    )
    install_error_handlers(app)
    # Added first, so inside the edge: its answers get the same headers and caps.
    state = state_of(app)
    app.add_middleware(
        LiveReadShortcut,
        shortcuts=state.shortcuts,
        tokens=state.tokens,
        gate=state.access_gate,
        cache=state.read_cache,
    )
    app.add_middleware(Edge, policy=EdgePolicy(max_body_bytes=settings.api_max_body_bytes))

    api = APIRouter(prefix=API_PREFIX)
    # The dashboard's live reads first, each in a router of its own: routes are matched in
    # order, and every router passed on the way cost a cached read a tenth of a millisecond.
    for module in (alerts, teams, patients):
        api.include_router(module.live_reads)
    for module in (auth, patients, fhir, teams, devices, alerts, me, admin, console):
        api.include_router(module.router)
    for module in (reports, act_now):  # a patient's reports; the feed's act-now instructions
        api.include_router(module.router)
    api.include_router(reports.clinic)
    api.include_router(reports.mine)
    app.include_router(api)
    app.include_router(web_router)  # the dashboard's triage and the stored patient feed
    app.include_router(health.router)
    app.include_router(fhir_r4.router)  # the FHIR R4 read API (/fhir/r4)
    nightscout = install_nightscout(app, settings, database_url=conninfo, sink=readings_sink)

    app.mount("/static", StaticFiles(directory=WEB_STATIC), name="static")
    if settings.api_openapi:
        install_docs(app, API_PREFIX)

    registry = registry_for(request_pool)

    scrape_token = settings.metrics_token

    @app.get("/metrics", tags=["health"], response_class=Response)
    def metrics(credentials: BearerDep) -> Response:
        """Prometheus metrics: ingest rate and lag, rejected messages, alerts, deliveries
        (every tenant's counts: only with the scrape token, ``VIGIL_METRICS_TOKEN``, as a
        bearer token; off when none is set)."""
        if scrape_token is None:
            raise NotFound("metrics are off (no scrape token is set)")
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, scrape_token.get_secret_value().encode()):
            raise Unauthenticated("the scrape token is required")
        return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)

    return app
