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
from pydantic import BaseModel, computed_field

from vigil.alerts.urgency import tier
from vigil.api.audit import audit_allowed
from vigil.api.clinical_repo import unit_of
from vigil.api.deps import (
    ConnDep,
    StaffUser,
)
from vigil.api.paging import Offset
from vigil.api.web.triage_repo import daily_averages, triage_rows, visible_plans
from vigil.clinical.display import format_bp
from vigil.coaching import Targets
from vigil.core.metrics import Metric

router = APIRouter(prefix="/triage", tags=["dashboard"])

Group = Literal["critical", "out_of_target", "not_measuring", "stable"]
GROUPS: tuple[Group, ...] = ("critical", "out_of_target", "not_measuring", "stable")
WINDOW = timedelta(days=14)
SILENT_AFTER = timedelta(days=3)
MIN_CGM = 24
MIN_BP = 3


class Reason(BaseModel):
    """One reason, for a page to say in its own language: ``code`` names the sentence and
    ``values`` fills it (glucose in mg/dL, shares as fractions, weight in kg, times in UTC)."""

    code: Literal[
        "time_below",
        "time_in_range",
        "bp_average",
        "weight_up",
        "alert",
        "no_readings",
        "silent_since",
    ]
    values: dict[str, float | str | None] = {}
    text: str
    """The reason in English, as in ``reasons``."""


class TriagePatient(BaseModel):
    id: UUID
    display_name: str
    conditions: list[str]
    group: Group
    why: list[Reason] = []
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reasons(self) -> list[str]:
        """The reasons in English (``why`` carries them for other languages)."""
        return [r.text for r in self.why]


class TriageGroup(BaseModel):
    group: Group
    count: int
    patients: list[TriagePatient]


class TriagePublic(BaseModel):
    window_days: int
    groups: list[TriageGroup]


def out_of_target(row: dict[str, Any]) -> list[tuple[Reason, float]]:
    """Why a patient is out of target over the window, in a nurse's words (empty if not),
    each with how far out it is, relative to its target (0.1: 10 % beyond it)."""
    t = Targets.from_care_plan(row.get("targets"), row.get("conditions") or ())
    reasons: list[tuple[Reason, float]] = []
    n = row.get("glucose_n") or 0
    if n >= MIN_CGM:
        below, inside = row["glucose_below"] / n, row["glucose_in"] / n
        if below > t.time_below_limit:
            excess = below / t.time_below_limit - 1
            text = f"time below {t.glucose_low:.0f} mg/dL {below:.0%}"
            why = Reason(
                code="time_below", values={"low": t.glucose_low, "share": below}, text=text
            )
            reasons.append((why, excess))
        if inside < t.time_in_range_goal:
            why = Reason(
                code="time_in_range", values={"share": inside}, text=f"time in range {inside:.0%}"
            )
            reasons.append((why, 1 - inside / t.time_in_range_goal))
    sys_avg, dia_avg = row.get("systolic_avg"), row.get("diastolic_avg")
    bp_measured = (row.get("bp_n") or 0) >= MIN_BP
    if (
        bp_measured
        and sys_avg is not None
        and dia_avg is not None
        and (sys_avg >= t.bp_systolic_high or dia_avg >= t.bp_diastolic_high)
    ):
        excess = max(sys_avg / t.bp_systolic_high, dia_avg / t.bp_diastolic_high) - 1
        text = (
            f"home BP average {sys_avg:.0f}/{dia_avg:.0f} "
            f"(target <{t.bp_systolic_high:.0f}/{t.bp_diastolic_high:.0f})"
        )
        values = {
            "systolic": round(sys_avg),
            "diastolic": round(dia_avg),
            "systolic_target": t.bp_systolic_high,
            "diastolic_target": t.bp_diastolic_high,
        }
        reasons.append((Reason(code="bp_average", values=values, text=text), excess))
    change = row.get("weight_change")
    if change is not None and change >= t.weight_rise_kg:
        excess = change / t.weight_rise_kg - 1
        text = f"weight up {change:.1f} kg on the week before"
        reasons.append((Reason(code="weight_up", values={"kg": change}, text=text), excess))
    return reasons


def classify(row: dict[str, Any], now: datetime) -> tuple[Group, list[Reason], float]:
    """The first group that fits the patient, why, and how far out of target they are."""
    found = out_of_target(row)
    excess = round(sum(e for _, e in found), 3)
    if row["open_alerts"]:  # any open alert, of any severity, leaves "stable"
        return "critical", [alert_reason(row)], excess
    if found:
        return "out_of_target", [r for r, _ in found], excess
    last = row.get("last_reading")
    if last is None:
        days = {"days": WINDOW.days}
        return "not_measuring", [Reason(code="no_readings", values=days, text=NO_READINGS)], 0.0
    if now - last > SILENT_AFTER:
        since = {"since": last.isoformat()}
        text = f"nothing since {last:%d %b}"
        return "not_measuring", [Reason(code="silent_since", values=since, text=text)], 0.0
    return "stable", [], 0.0


NO_READINGS = f"no readings in {WINDOW.days} days"


def _unit(metric: str) -> str | None:
    try:
        return unit_of(Metric(metric))
    except ValueError:  # not a metric of ours (an alert of an older version)
        return None


def alert_reason(row: dict[str, Any]) -> Reason:
    """The patient's most urgent open alert, named, with its value
    (``hypoglycemia urgent: glucose 40``)."""
    cause = str(row["top_cause"])
    value, metrics = row.get("top_value"), row.get("top_metrics") or []
    reading = row.get("top_reading") or {}
    if reading.get("systolic") is not None or reading.get("diastolic") is not None:
        bp = format_bp(reading.get("systolic"), reading.get("diastolic"))
        values = {
            "cause": cause,
            "metric": "bp",
            "systolic": reading.get("systolic"),
            "diastolic": reading.get("diastolic"),
        }
        return Reason(code="alert", values=values, text=f"{cause.replace('_', ' ')}: BP {bp}")
    if reading.get("metric") and reading.get("value") is not None:
        value, metrics = reading["value"], [reading["metric"]]  # the value's own metric
    if value is None or not metrics:
        return Reason(code="alert", values={"cause": cause}, text=cause.replace("_", " "))
    text = f"{cause.replace('_', ' ')}: {metrics[0].replace('_', ' ')} {value:g}"
    values = {"cause": cause, "metric": metrics[0], "value": value, "unit": _unit(metrics[0])}
    return Reason(code="alert", values=values, text=text)


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
    ranges = {}
    for plan in visible_plans(conn, principal=user):
        t = Targets.from_care_plan(plan["targets"], plan["conditions"] or ())
        ranges[plan["id"]] = (t.glucose_low, t.glucose_high)
    rows = triage_rows(
        conn,
        principal=user,
        now=now,
        since=now - WINDOW,
        week=now - timedelta(days=7),
        glucose_low=defaults.glucose_low,
        glucose_high=defaults.glucose_high,
        glucose_ranges=ranges,
    )
    buckets: dict[Group, list[TriagePatient]] = {g: [] for g in GROUPS}
    for row in rows:
        g, why, excess = classify(row, now)
        buckets[g].append(TriagePatient(**row, group=g, why=why, excess=excess))
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
            p.why, series, p.top_metrics if p.group == "critical" else []
        )
        p.spark = series.get(p.spark_metric or "", [])
    return TriagePublic(window_days=WINDOW.days, groups=groups)


SPARK_FOR = {
    "bp_average": "bp_systolic",
    "time_below": "glucose",
    "time_in_range": "glucose",
    "weight_up": "body_weight",
}
"""The metric a reason is about, for its sparkline."""


def _spark_metric(
    reasons: list[Reason], series: dict[str, list[float]], alert_metrics: list[str]
) -> str | None:
    """The metric behind the first reason (the top alert's own metric when it has one),
    else the one measured on most days."""
    for metric in alert_metrics:
        if metric in series:
            return metric
    for reason in reasons:
        about = SPARK_FOR.get(reason.code)
        if about in series:
            return about
    return max(series, key=lambda m: len(series[m]), default=None)
