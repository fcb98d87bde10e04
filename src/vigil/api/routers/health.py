"""Liveness and readiness (outside ``/api/v1``, no authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vigil.api.errors import ApiError
from vigil.api.models import Health
from vigil.api.state import state_of

router = APIRouter(tags=["health"])


class NotReady(ApiError):
    status = 503
    code = "not_ready"


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is up."""
    return Health()


@router.get(
    "/ready",
    response_model=Health,
    responses={503: {"description": "The database or the alert listener is not reachable"}},
)
def ready(request: Request) -> Health:
    """The database answers and the alert-change listener is connected."""
    try:
        with state_of(request.app).request_pool.connection(timeout=2.0) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        raise NotReady(f"database not reachable: {type(exc).__name__}") from None
    if not state_of(request.app).broadcaster.listening.is_set():
        raise NotReady("alert listener not connected")
    return Health()
