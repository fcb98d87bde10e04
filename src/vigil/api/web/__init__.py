"""The dashboard's own pages and API: triage of the care team's patients, the stored feed."""

from fastapi import APIRouter

from vigil.api.web import admin, feed, pages, reports, triage

api = APIRouter(prefix="/api/v1")
api.include_router(triage.router)
api.include_router(feed.router)

router = APIRouter()
router.include_router(api)
router.include_router(pages.router)
router.include_router(admin.router)
router.include_router(reports.router)

__all__ = ["router"]
