"""``/me/feed/items``: the patient's stored feed, refreshed from their data on each visit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from vigil.api.deps import ConnDep, MePatientDep
from vigil.coaching import list_feed_items, refresh_feed

router = APIRouter(prefix="/me/feed", tags=["me"])


class FeedItemPublic(BaseModel):
    key: str
    kind: str
    time: datetime
    title: str
    body: str
    tone: Literal["good", "note", "neutral"]
    data: dict[str, Any]


@router.get("/items", response_model=list[FeedItemPublic])
def my_feed_items(
    scope: MePatientDep, conn: ConnDep, limit: Annotated[int, Query(ge=1, le=200)] = 30
) -> list[FeedItemPublic]:
    """Weekly summaries against your own targets, your streak and gentle reminders, newest
    first. Items are written by the coaching module and kept, so past weeks stay readable."""
    refresh_feed(conn, patient_id=scope.patient_id, now=datetime.now(UTC))
    rows = list_feed_items(conn, patient_id=scope.patient_id, limit=limit)
    return [FeedItemPublic.model_validate(r) for r in rows]
