"""The dashboard's own API: triage of the care team's patients and the stored patient feed."""

from fastapi import APIRouter

from vigil.api.web import feed, triage

router = APIRouter(prefix="/api/v1")
router.include_router(triage.router)
router.include_router(feed.router)

__all__ = ["router"]
