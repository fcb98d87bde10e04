"""The feed's ``act_now`` items: a patient's latest reading at a dangerous level, answered with
what to do now, until a normal reading replaces it or the care team replies (acknowledges or
resolves the alert it raised). Computed when the feed is read, from the latest values ingest
keeps, so an item is there as soon as the reading is stored.

>>> from datetime import datetime, UTC
>>> t = datetime(2026, 12, 1, 8, tzinfo=UTC)
>>> plan = CarePlan.default_for({"t1d"})
>>> [i.kind.value for i in dangers({Metric.GLUCOSE: Latest(t, 50.0, None)}, plan)]
['glucose_urgent_low']
>>> [i.kind.value for i in dangers({Metric.BP_SYSTOLIC: Latest(t, 176.0, None),
...                                 Metric.BP_DIASTOLIC: Latest(t, 121.0, None)}, plan)]
['bp_crisis']
>>> dangers({Metric.GLUCOSE: Latest(t, 70.0, None)}, plan)
[]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from vigil.clinical import CarePlan, Metric
from vigil.clinical.careplan import URGENT_GLUCOSE_LOW
from vigil.clinical.guidance import ALERT_CAUSES, ActNow
from vigil.core.metrics import Censored


@dataclass(frozen=True, slots=True)
class Latest:
    time: datetime
    value: float
    censored: Censored | None


@dataclass(frozen=True, slots=True)
class Danger:
    """A reading that asks the patient to act: its kind, when it was measured, its value(s)
    and the level it crossed (mmHg as systolic/diastolic for blood pressure)."""

    kind: ActNow
    metric: Metric
    time: datetime
    values: tuple[float, ...]
    limits: tuple[float, ...]
    censored: Censored | None = None


def dangers(latest: Mapping[Metric, Latest], plan: CarePlan) -> list[Danger]:
    """The dangerous latest readings, the most urgent first."""
    out: list[Danger] = []
    glucose = latest.get(Metric.GLUCOSE)
    low = plan.threshold(Metric.GLUCOSE).low
    if glucose is not None and glucose.value < URGENT_GLUCOSE_LOW:
        out.append(Danger(ActNow.GLUCOSE_URGENT_LOW, Metric.GLUCOSE, glucose.time,
                          (glucose.value,), (URGENT_GLUCOSE_LOW,), glucose.censored))  # fmt: skip
    elif glucose is not None and low is not None and glucose.value < low:
        out.append(Danger(ActNow.GLUCOSE_LOW, Metric.GLUCOSE, glucose.time, (glucose.value,),
                          (low,), glucose.censored))  # fmt: skip
    sys, dia = latest.get(Metric.BP_SYSTOLIC), latest.get(Metric.BP_DIASTOLIC)
    sys_lim = plan.threshold(Metric.BP_SYSTOLIC).high
    dia_lim = plan.threshold(Metric.BP_DIASTOLIC).high
    if (
        sys is not None
        and dia is not None
        and sys_lim is not None
        and dia_lim is not None
        and (sys.value >= sys_lim or dia.value >= dia_lim)
    ):
        out.append(Danger(ActNow.BP_CRISIS, Metric.BP_SYSTOLIC, max(sys.time, dia.time),
                          (sys.value, dia.value), (sys_lim, dia_lim)))  # fmt: skip
    spo2, spo2_lim = latest.get(Metric.SPO2), plan.threshold(Metric.SPO2).low
    if spo2 is not None and spo2_lim is not None and spo2.value < spo2_lim:
        out.append(Danger(ActNow.SPO2_LOW, Metric.SPO2, spo2.time, (spo2.value,), (spo2_lim,)))
    return out


def unanswered(dangers: list[Danger], replies: Mapping[str, datetime]) -> list[Danger]:
    """Those the care team has not replied to since (``replies``: alert cause -> the last
    time the team acknowledged or resolved one of that cause)."""
    out = []
    for d in dangers:
        reply = replies.get(ALERT_CAUSES[d.kind])
        if reply is None or reply < d.time:
            out.append(d)
    return out
