"""Refresh a patient's feed: read their data, coach, store."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, tzinfo
from uuid import UUID

from vigil.coaching import repo
from vigil.coaching.coach import coach
from vigil.coaching.models import FeedItem, Targets

log = logging.getLogger(__name__)

HISTORY = timedelta(days=21)
"""Two full weeks for the weight trend, plus the planned-measurement window."""


def refresh_feed(
    conn: repo.Conn, *, patient_id: UUID, now: datetime, zone: tzinfo = UTC
) -> list[FeedItem]:
    """Generate the patient's feed items at ``now`` from their stored readings, their
    conditions and their care plan's targets, and store them, days counted in ``zone`` (the
    clinic's). Returns the items written."""
    conditions, plan_targets = repo.patient_profile(conn, patient_id=patient_id)
    points = repo.patient_points(conn, patient_id=patient_id, start=now - HISTORY, end=now)
    items = coach(
        points,
        now=now,
        targets=Targets.from_care_plan(plan_targets, conditions),
        conditions=conditions,
        zone=zone,
    )
    repo.store_feed_items(conn, patient_id=patient_id, items=items)
    log.debug("feed refreshed", extra={"patient_id": str(patient_id), "items": len(items)})
    return items
