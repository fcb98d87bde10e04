"""The heart-failure weight diary: each day's first weighing, where the detectors' two rules
fired (a gain of the plan's kilograms within its days, HFSA/ESC: 2 kg in 3; the personal
baseline: well above the patient's usual weight), the usual weight and the baseline rule's limit
for every day of the period, and the days the care team had an alert. The rules and the usual
weight are the detectors' own: the full detector set, under the patient's plan, replayed over
the weighings with a month before the period for the baseline to learn; nothing restated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from vigil.clinical import CarePlan
from vigil.clinical.findings import Finding
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.reports import report_repo
from vigil.reports.models import HfDay, HfRuleHit, HfUsual, HfWeight
from vigil.reports.report_repo import Conn
from vigil.streaming import StreamEngine, default_detectors
from vigil.streaming.baseline import WeightAboveBaseline

HF_CAUSE = "hf_decompensation"
DAY_S = 86_400.0
WARM_UP = timedelta(days=30)
"""History before the period replayed so the personal baseline has learnt the usual weight."""


def period_days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[tuple[date, datetime]]:
    """Each local day the period touches, with the instant it ends (the next local midnight,
    at most the period's end)."""
    if end <= start:
        return
    day, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone)
    while day <= last.date():
        yield day, min(datetime.combine(day + timedelta(days=1), time(), zone), end)
        day += timedelta(days=1)


def _replay(
    patient_id: UUID,
    readings: list[StoredReading],
    plan: CarePlan,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
) -> tuple[list[Finding], list[HfUsual], float]:
    """The detectors over the weighings (in time order), day by day: their findings, and each
    day's usual weight as the personal-baseline detector held it before the day's first
    weighing."""
    engine = StreamEngine(plan_for=lambda _patient: plan, detectors=default_detectors)
    excess = next(
        d.excess for d in engine.detectors.templates if isinstance(d, WeightAboveBaseline)
    )
    i = sum(1 for r in readings if r.time < start)  # the warm-up before the period
    found = engine.process(readings[:i])
    usual: list[HfUsual] = []
    for day, day_end in period_days(start, end, zone):
        # the patient's own detector (built at the first weighing): what it holds before today's
        baseline = engine.own_detector(patient_id, WeightAboveBaseline)
        kg = baseline.usual() if baseline else None
        limit = None if kg is None else kg + excess
        usual.append(HfUsual(day=day, usual_kg=kg, limit_kg=limit))
        todays = []
        while i < len(readings) and readings[i].time < day_end:
            todays.append(readings[i])
            i += 1
        found += engine.process(todays)
    return found, usual, excess


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
    found, usual, excess = _replay(patient_id, readings, plan, start, end, zone)
    hits: dict[date, list[HfRuleHit]] = {}
    for f in found:
        if f.cause == HF_CAUSE and f.time >= start:
            e = f.explanation
            hits.setdefault(f.time.astimezone(zone).date(), []).append(
                HfRuleHit(rule=f.detector, time=f.time, kg=e.value or 0.0,
                          threshold=e.threshold, baseline_kg=e.baseline,
                          window_days=None if e.window_s is None else e.window_s / DAY_S,
                          previous_kg=e.details.get("previous_kg"))
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
        baseline_excess_kg=excess,
        days=list(days.values()),
        usual=usual,
        alert_days=alert_days,
    )
