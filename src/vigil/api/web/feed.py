"""``/me/feed/items``: the patient's stored feed, refreshed from their data on each visit, worded
in the caller's language when read."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from vigil.api.deps import ConnDep, MePatientDep
from vigil.api.state import state_of
from vigil.api.web import i18n
from vigil.coaching import card_words, list_feed_items, refresh_feed
from vigil.core.languages import Lang

router = APIRouter(prefix="/me/feed", tags=["me"])


class FeedItemPublic(BaseModel):
    key: str
    kind: str
    time: datetime
    title: str
    body: str
    lang: Lang = Field(
        description="The language of title and body: the caller's, or English for a card "
        "stored before its data carried what its words need"
    )
    tone: Literal["good", "note", "neutral"]
    data: dict[str, Any]


@router.get("/items", response_model=list[FeedItemPublic])
def my_feed_items(
    scope: MePatientDep,
    conn: ConnDep,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
) -> list[FeedItemPublic]:
    """Weekly summaries against your own targets, your streak and gentle reminders, newest
    first, in your language (``?lang=``, the ``vigil_lang`` cookie, Accept-Language, else
    Korean: the pages' rule), days in the clinic's time zone. Items are written by the coaching
    module and kept, so past weeks stay readable."""
    lang = i18n.negotiate(request)
    zone = i18n.clinic_zone(state_of(request.app).settings.clinic_time_zone)
    refresh_feed(conn, patient_id=scope.patient_id, now=datetime.now(UTC), zone=zone)
    rows = list_feed_items(conn, patient_id=scope.patient_id, limit=limit)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    return [_worded(row, lang, zone) for row in rows]


def _worded(row: dict[str, Any], lang: Lang, zone: tzinfo) -> FeedItemPublic:
    words = card_words(row["kind"], row["data"], row["tone"], lang, zone)
    if words is None:  # stored before its data carried its words' values: the stored English
        return FeedItemPublic.model_validate({**row, "lang": "en"})
    title, body = words
    return FeedItemPublic.model_validate({**row, "title": title, "body": body, "lang": lang})
