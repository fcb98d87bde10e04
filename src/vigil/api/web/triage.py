"""Triage: the care team's patients grouped by what needs attention first.

Groups, in order: open alerts of any severity (the patient's most urgent one named with its
value, in the inbox's order, vigil.alerts.urgency); out of target over the last 14 days (time below
70 mg/dL over 4 %, time in range under 70 %, home BP average at or over target, weight up
1 kg or more on the week before); not measuring as planned (nothing in 3 days); stable.
Each patient is in the first group that fits, with the reasons in words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from vigil.alerts.urgency import tier
from vigil.api.deps import ConnDep, StaffUser, audit_allowed
from vigil.api.paging import Offset
from vigil.api.web.triage_repo import daily_averages, triage_rows
from vigil.coaching import Targets

router = APIRouter(prefix="/triage", tags=["dashboard"])

Group = Literal["critical", "out_of_target", "not_measuring", "stable"]
GROUPS: tuple[Group, ...] = ("critical", "out_of_target", "not_measuring", "stable")
WINDOW = timedelta(days=14)
SILENT_AFTER = timedelta(days=3)
MIN_CGM = 24
MIN_BP = 3


class TriagePatient(BaseModel):
    id: UUID
    display_name: str
    conditions: list[str]
    group: Group
    reasons: list[str]
    excess: float
    """How far out of target, summed over the reasons, relative to each target."""
    spark_metric: str | None = None
    spark: list[float] = []
    """Daily averages of ``spark_metric`` over the window, oldest first."""
    open_alerts: int
    critical_alerts: int
    top_cause: str | None = None
    """The patient's most urgent open alert (vigil.alerts.urgency), its severity and metrics."""
    top_severity: int | None = None
    top_metrics: list[str] = []
    last_reading: datetime | None


class TriageGroup(BaseModel):
    group: Group
    count: int
    patients: list[TriagePatient]


class TriagePublic(BaseModel):
    window_days: int
    groups: list[TriageGroup]


def out_of_target(row: dict[str, Any]) -> list[tuple[str, float]]:
    """Why a patient is out of target over the window, in a nurse's words (empty if not),
    each with how far out it is, relative to its target (0.1: 10 % beyond it)."""
    t = Targets.from_care_plan(row.get("targets"))
    reasons: list[tuple[str, float]] = []
    n = row.get("glucose_n") or 0
    if n >= MIN_CGM:
        below, inside = row["glucose_below"] / n, row["glucose_in"] / n
        if below > t.time_below_limit:
            excess = below / t.time_below_limit - 1
            reasons.append((f"time below {t.glucose_low:.0f} mg/dL {below:.0%}", excess))
        if inside < t.time_in_range_goal:
            reasons.append((f"time in range {inside:.0%}", 1 - inside / t.time_in_range_goal))
    sys_avg, dia_avg = row.get("systolic_avg"), row.get("diastolic_avg")
    bp_measured = (row.get("bp_n") or 0) >= MIN_BP
    if (
        bp_measured
        and sys_avg is not None
        and dia_avg is not None
        and (sys_avg >= t.bp_systolic_high or dia_avg >= t.bp_diastolic_high)
    ):
        excess = max(sys_avg / t.bp_systolic_high, dia_avg / t.bp_diastolic_high) - 1
        reasons.append(
            (
                f"home BP average {sys_avg:.0f}/{dia_avg:.0f} "
                f"(target <{t.bp_systolic_high:.0f}/{t.bp_diastolic_high:.0f})",
                excess,
            )
        )
    change = row.get("weight_change")
    if change is not None and change >= t.weight_rise_kg:
        excess = change / t.weight_rise_kg - 1
        reasons.append((f"weight up {change:.1f} kg on the week before", excess))
    return reasons


def classify(row: dict[str, Any], now: datetime) -> tuple[Group, list[str], float]:
    """The first group that fits the patient, why, and how far out of target they are."""
    found = out_of_target(row)
    excess = round(sum(e for _, e in found), 3)
    if row["open_alerts"]:  # any open alert, of any severity, leaves "stable"
        return "critical", [alert_reason(row)], excess
    if found:
        return "out_of_target", [r for r, _ in found], excess
    last = row.get("last_reading")
    if last is None:
        return "not_measuring", ["no readings in 14 days"], 0.0
    if now - last > SILENT_AFTER:
        return "not_measuring", [f"nothing since {last:%d %b}"], 0.0
    return "stable", [], 0.0


def alert_reason(row: dict[str, Any]) -> str:
    """The patient's most urgent open alert, named, with its value
    (``hypoglycemia urgent: glucose 40``)."""
    cause = str(row["top_cause"]).replace("_", " ")
    value, metrics = row.get("top_value"), row.get("top_metrics") or []
    if value is None or not metrics:
        return cause
    return f"{cause}: {metrics[0].replace('_', ' ')} {value:g}"


def _urgency(p: TriagePatient) -> tuple[float, ...]:
    last = p.last_reading.timestamp() if p.last_reading else 0.0
    if p.group == "not_measuring":
        return (last,)  # longest silent first
    if p.group == "critical":  # the inbox's order, by each patient's most urgent alert
        return (tier(p.top_cause or ""), -(p.top_severity or 0), -p.open_alerts, -p.excess)
    return (-p.excess, -p.open_alerts, last)


@router.get("", response_model=TriagePublic)
def triage(
    conn: ConnDep,
    user: StaffUser,
    request: Request,
    group: Group | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> TriagePublic:
    """Your patients grouped by what needs attention, most urgent first: every group's full
    count, with one page (``limit``/``offset``) of its patients (only ``group``'s if given)."""
    now = datetime.now(UTC)
    defaults = Targets()
    rows = triage_rows(
        conn,
        principal=user,
        now=now,
        since=now - WINDOW,
        week=now - timedelta(days=7),
        glucose_low=defaults.glucose_low,
        glucose_high=defaults.glucose_high,
    )
    buckets: dict[Group, list[TriagePatient]] = {g: [] for g in GROUPS}
    for row in rows:
        g, reasons, excess = classify(row, now)
        buckets[g].append(TriagePatient(**row, group=g, reasons=reasons, excess=excess))
    audit_allowed(conn, request, user, patient_id=None, detail={"patients": len(rows)})
    groups = [
        TriageGroup(
            group=g,
            count=len(buckets[g]),
            patients=(
                sorted(buckets[g], key=_urgency)[offset : offset + limit]
                if group is None or g == group
                else []
            ),
        )
        for g in GROUPS
    ]
    page = [p for g in groups for p in g.patients]
    daily = daily_averages(conn, patient_ids=[p.id for p in page], since=now - WINDOW)
    for p in page:
        series = daily.get(p.id, {})
        p.spark_metric = _spark_metric(
            p.reasons, series, p.top_metrics if p.group == "critical" else []
        )
        p.spark = series.get(p.spark_metric or "", [])
    return TriagePublic(window_days=WINDOW.days, groups=groups)


SPARK_FOR = (("BP", "bp_systolic"), ("time ", "glucose"), ("weight", "body_weight"))


def _spark_metric(
    reasons: list[str], series: dict[str, list[float]], alert_metrics: list[str]
) -> str | None:
    """The metric behind the first reason (the top alert's own metric when it has one),
    else the one measured on most days."""
    for metric in alert_metrics:
        if metric in series:
            return metric
    for reason in reasons:
        for word, metric in SPARK_FOR:
            if word in reason and metric in series:
                return metric
    return max(series, key=lambda m: len(series[m]), default=None)
