"""A patient's own view: their readings, and the feed's numbers beside its coaching items.

The feed is one page: the coaching items (``/me/feed/items``: weekly summaries, streak and the
reminders, by coaching's one reminder rule) above this week's averages and today's readings
(``/me/feed``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from vigil.api import clinical_repo
from vigil.api.deps import ConnDep, MePatientDep
from vigil.api.models import ReadingPublic
from vigil.api.routers.act_now import ActNowItem, act_now_items
from vigil.api.routers.patients import time_range
from vigil.clinical import CarePlan
from vigil.clinical.careplan import IN_TARGET_GOAL, TIME_IN_RANGE_GOAL
from vigil.coaching import Point, patient_profile, streak_days
from vigil.core.metrics import SPECS, Metric

router = APIRouter(prefix="/me", tags=["me"])


class WeeklySummary(BaseModel):
    metric: Metric
    unit: str
    readings: int
    avg: float
    in_target_share: float | None = Field(description="Share within the care plan's target")
    goal: float = Field(description="The share of readings in target to aim for")


class FeedPublic(BaseModel):
    act_now: list[ActNowItem] = Field(
        description="Dangerous latest readings with what to do now, the most urgent first, "
        "in your language; each stays until a normal reading or the care team's reply"
    )
    today: list[ReadingPublic]
    week: list[WeeklySummary]
    streak_days: int = Field(description="Consecutive days (up to today) with a reading")


@router.get("/readings", response_model=list[ReadingPublic])
def my_readings(
    scope: MePatientDep,
    conn: ConnDep,
    metric: Metric | None = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ReadingPublic]:
    lo, hi = time_range(start, end, timedelta(days=7))
    rows = clinical_repo.raw_readings(
        conn, patient_id=scope.patient_id, metric=metric, start=lo, end=hi, limit=limit
    )
    return [ReadingPublic.model_validate(r) for r in rows]


@router.get("/feed", response_model=FeedPublic)
def my_feed(scope: MePatientDep, conn: ConnDep, request: Request, response: Response) -> FeedPublic:
    """What to do now about a dangerous reading, today's readings, this week against your
    targets, your streak (reminders are coaching items: ``/me/feed/items``)."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = clinical_repo.raw_readings(
        conn,
        patient_id=scope.patient_id,
        metric=None,
        start=now - timedelta(days=30),
        end=now + timedelta(minutes=10),
        limit=10_000,
    )
    conditions, plan_targets = patient_profile(conn, patient_id=scope.patient_id)
    today = [ReadingPublic.model_validate(r) for r in rows if r["time"] >= midnight]
    plan = CarePlan.from_stored(set(conditions), None, plan_targets)
    week = _week(rows, now - timedelta(days=7), plan)
    # Counted as the coaching items count it: ending today, or yesterday if nothing yet today.
    streak = streak_days([Point(r["time"], r["metric"], r["value"]) for r in rows], now)
    act_now = act_now_items(conn, request, response, patient_id=scope.patient_id)
    return FeedPublic(act_now=act_now, today=today, week=week, streak_days=streak)


def _week(rows: list[dict[str, Any]], since: datetime, plan: CarePlan) -> list[WeeklySummary]:
    """Each metric's week against the patient's targets (the care plan's over the guidance
    defaults for their conditions, merged as the detectors merge them)."""
    out = []
    for metric in sorted({r["metric"] for r in rows}):
        values = [r["value"] for r in rows if r["metric"] == metric and r["time"] >= since]
        if not values:
            continue
        target = plan.target(Metric(metric))
        low, high = target.low, target.high
        share = None
        if low is not None or high is not None:
            inside = [
                v for v in values if (low is None or v >= low) and (high is None or v <= high)
            ]
            share = round(len(inside) / len(values), 3)
        out.append(
            WeeklySummary(
                metric=Metric(metric),
                unit=SPECS[Metric(metric)].ucum,
                readings=len(values),
                avg=round(sum(values) / len(values), 2),
                in_target_share=share,
                goal=TIME_IN_RANGE_GOAL if metric == Metric.GLUCOSE.value else IN_TARGET_GOAL,
            )
        )
    return out
