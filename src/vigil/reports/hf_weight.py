"""The heart-failure weight diary: each day's first weighing, where the detectors' two rules
fired (a gain of the plan's kilograms within its days, HFSA/ESC: 2 kg in 3; the personal
baseline: well above the patient's usual weight), with the usual weight they compared against,
and the days the care team had an alert. The rules are the detectors' own (replayed over the
weighings, with a month before the period for the baseline to warm up): nothing restated."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from vigil.clinical import CarePlan
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.reports import report_repo
from vigil.reports.models import HfDay, HfRuleHit, HfWeight
from vigil.reports.report_repo import Conn
from vigil.streaming import replay

HF_CAUSE = "hf_decompensation"
WARM_UP = timedelta(days=30)
"""History before the period replayed so the personal baseline has learnt the usual weight."""


def build_hf_weight(
    conn: Conn,
    *,
    patient_id: UUID,
    start: datetime,
    end: datetime,
    time_zone: str,
    plan: CarePlan,
) -> HfWeight:
    zone = ZoneInfo(time_zone)
    rows = report_repo.weighings(conn, patient_id=patient_id, start=start - WARM_UP, end=end)
    readings = [
        StoredReading(t, patient_id, Metric.BODY_WEIGHT, kg, device, t) for t, kg, device in rows
    ]
    found = replay(readings, conditions=sorted(plan.conditions), thresholds={})
    hits: dict[date, list[HfRuleHit]] = {}
    for f in found:
        if f.cause == HF_CAUSE and f.time >= start:
            e = f.explanation
            hits.setdefault(f.time.astimezone(zone).date(), []).append(
                HfRuleHit(rule=f.detector, time=f.time, kg=e.value or 0.0,
                          threshold=e.threshold, baseline_kg=e.baseline)
            )  # fmt: skip
    alerts = report_repo.alert_times(conn, patient_id=patient_id, causes=[HF_CAUSE],
                                     start=start, end=end)  # fmt: skip
    alert_days = sorted({t.astimezone(zone).date() for t in alerts})
    days: dict[date, HfDay] = {}
    for t, kg, _ in rows:
        if t < start:
            continue
        day = t.astimezone(zone).date()
        if day not in days:  # the day's first weighing: the morning's, as the plan asks
            days[day] = HfDay(day=day, time=t, kg=kg, rules=hits.get(day, []),
                              alert=day in alert_days)  # fmt: skip
    return HfWeight(
        start=start,
        end=end,
        time_zone=time_zone,
        heart_failure="heart_failure" in plan.conditions,
        gain_kg=plan.hf_weight_gain_kg,
        gain_days=plan.hf_weight_days,
        days=list(days.values()),
        alert_days=alert_days,
    )
