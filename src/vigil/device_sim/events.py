"""Clinical events and non-events: how each one moves the readings, and the truth it becomes.

Each planner takes the patient's local midnight of the day the event starts and returns the
event, followed by any nested events it may show (a severe COPD exacerbation can also show
``spo2_low``; a fever can push a heart rate over 120). Nested events, like every event, are kept
in the truth only if the emitted readings actually show them (see ``generate.finalize_truth``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from vigil.core.metrics import Metric
from vigil.device_sim.models import DAY, HOUR, MINUTE, DeviceKind, Effect, Event, Patient, Shows
from vigil.device_sim.physiology import DEVICE_METRICS, Physiology

SYS, DIA, HR = Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC, Metric.HEART_RATE
GLU, WT, SPO2 = Metric.GLUCOSE, Metric.BODY_WEIGHT, Metric.SPO2
TEMP, RR = Metric.BODY_TEMPERATURE, Metric.RESPIRATORY_RATE


@dataclass(slots=True)
class PlanContext:
    patient: Patient
    phys: Physiology
    rng: random.Random
    short: bool = False
    """A short run (under two weeks): multi-day events take the short end of their ranges."""

    def span(self, low: float, high: float) -> float:
        """A duration in days between ``low`` and ``high``, near ``low`` in a short run."""
        return self.rng.uniform(low, low + (high - low) * (0.25 if self.short else 1.0))

    def has(self, kind: DeviceKind) -> bool:
        return self.patient.device(kind) is not None

    def hr_source(self) -> DeviceKind | None:
        for kind in ("hr_wearable", "oximeter", "bp_cuff"):
            if self.has(kind):
                return kind
        return None

    def glucose_source(self) -> DeviceKind | None:
        return "cgm" if self.has("cgm") else "glucometer" if self.has("glucometer") else None

    def at(self, day: int, lo_h: float, hi_h: float) -> int:
        return day + int(self.rng.uniform(lo_h, hi_h) * HOUR)

    def event(self, kind: str, start: int, end: int, **kw: object) -> Event:
        return Event(self.patient.patient_id, kind, start, end, **kw)  # type: ignore[arg-type]


Times = tuple[int, int, int, int]
"""An effect's onset, peak, fade and end."""


def _trapezoid(metric: Metric, mode: str, amount: float, times: Times) -> Effect:
    onset, peak, fade, end = times
    return Effect(metric, "add" if mode == "add" else "blend", amount, onset, peak, fade, end)


def _daily(day_from: int, day_to: int, hours: tuple[float, ...]) -> list[int]:
    out: list[int] = []
    day = day_from
    while day < day_to:
        out.extend(day + int(h * HOUR) for h in hours)
        day += DAY
    return out


def hypertensive_crisis(c: PlanContext, day: int) -> list[Event]:
    t0 = c.at(day, 8, 21)
    fade = t0 + c.rng.randint(30, 120) * MINUTE
    times = (t0 - c.rng.randint(20, 60) * MINUTE, t0 - 5 * MINUTE, fade, fade + HOUR)
    both = c.rng.random() < 0.4
    dia = c.rng.uniform(121, 130) if both else c.rng.uniform(98, 112)
    return [
        c.event(
            "hypertensive_crisis",
            times[0],
            times[3],
            severity="critical",
            metrics=[SYS, DIA],
            effects=[
                _trapezoid(SYS, "blend", c.rng.uniform(188, 215), times),
                _trapezoid(DIA, "blend", dia, times),
            ],
            shows=[Shows(SYS, ">=", 180), Shows(DIA, ">=", 120)],
            forced=[("bp_cuff", t0), ("bp_cuff", t0 + c.rng.randint(180, 300))],
        )
    ]


def bp_above_target(c: PlanContext, day: int) -> list[Event]:
    onset = c.at(day, 0, 24)
    peak = onset + int(c.span(1, 2) * DAY)
    fade = peak + int(c.span(3 if c.short else 5, 10) * DAY)
    times = (onset, peak, fade, fade + DAY)
    return [
        c.event(
            "bp_above_target",
            onset,
            times[3],
            severity="warning",
            metrics=[SYS, DIA],
            effects=[
                _trapezoid(SYS, "add", c.rng.uniform(15, 22), times),
                _trapezoid(DIA, "add", c.rng.uniform(7, 11), times),
            ],
            shows=[Shows(SYS, ">=", 135), Shows(DIA, ">=", 85)],
            min_shown=3,
        )
    ]


def _hypo(c: PlanContext, day: int, urgent: bool) -> list[Event]:
    t0 = c.at(day, 0, 24)
    nadir = c.rng.uniform(40, 49) if urgent else c.rng.uniform(55, 65)
    rate = c.rng.uniform(1.0, 2.0)  # mg/dL per minute, a typical CGM descent
    descent = max(20.0, (c.phys.base(GLU, t0) - nadir) / rate) * MINUTE
    peak = t0 + int(descent)
    hold = c.rng.randint(15, 40) * MINUTE
    times = (t0, peak, peak + hold, peak + hold + c.rng.randint(20, 40) * MINUTE)
    forced: list[tuple[DeviceKind, int]] = []
    if c.glucose_source() == "glucometer":
        forced = [("glucometer", peak + hold // 4), ("glucometer", peak + 3 * hold // 4)]
    hypo = c.event(
        "hypoglycemia",
        t0,
        times[3],
        severity="warning",
        metrics=[GLU],
        effects=[_trapezoid(GLU, "blend", nadir, times)],
        shows=[Shows(GLU, "<", 70)],
        forced=forced,
        detail={"nadir_mg_dl": round(nadir)},
    )
    if not urgent:
        return [hypo]
    level2 = c.event(
        "hypoglycemia_urgent",
        t0,
        times[3],
        severity="critical",
        metrics=[GLU],
        shows=[Shows(GLU, "<", 54)],
        detail={"nadir_mg_dl": round(nadir)},
    )
    return [hypo, level2]


def hypoglycemia(c: PlanContext, day: int) -> list[Event]:
    return _hypo(c, day, urgent=False)


def hypoglycemia_urgent(c: PlanContext, day: int) -> list[Event]:
    return _hypo(c, day, urgent=True)


def hyperglycemia(c: PlanContext, day: int) -> list[Event]:
    onset = c.at(day, 0, 24)
    peak = onset + int(c.rng.uniform(2, 3) * HOUR)
    fade = peak + int(c.rng.uniform(2, 6) * HOUR)
    times = (onset, peak, fade, fade + int(c.rng.uniform(1.5, 3) * HOUR))
    forced: list[tuple[DeviceKind, int]] = []
    if c.glucose_source() == "glucometer":
        forced = [("glucometer", peak + 20 * MINUTE), ("glucometer", fade - 10 * MINUTE)]
    return [
        c.event(
            "hyperglycemia",
            onset,
            times[3],
            severity="warning",
            metrics=[GLU],
            effects=[_trapezoid(GLU, "blend", c.rng.uniform(275, 360), times)],
            shows=[Shows(GLU, ">", 250)],
            forced=forced,
        )
    ]


def meal_glucose_peak(c: PlanContext, day: int) -> list[Event]:
    meal = c.at(day, 12, 13) if c.rng.random() < 0.4 else c.at(day, 18, 20)
    peak = meal + 70 * MINUTE
    times = (meal, peak, peak + 15 * MINUTE, peak + 2 * HOUR)
    forced: list[tuple[DeviceKind, int]] = []
    if c.glucose_source() == "glucometer":
        forced = [("glucometer", peak + 5 * MINUTE)]
    return [
        c.event(
            "meal_glucose_peak",
            meal,
            times[3],
            severity="info",
            metrics=[GLU],
            non_event=True,
            effects=[_trapezoid(GLU, "blend", c.rng.uniform(192, 222), times)],
            shows=[Shows(GLU, ">=", 180)],
            forced=forced,
            band=(72.0, 244.0),
        )
    ]


def hf_decompensation(c: PlanContext, day: int) -> list[Event]:
    onset = c.at(day, 0, 24)
    gain_days = c.span(3, 7)
    peak = onset + int(gain_days * DAY)
    fade = peak + int(c.span(1, 2) * DAY)
    times = (onset, peak, fade, fade + 2 * DAY)
    gain = c.rng.uniform(2.0, 3.0)
    # Patients with heart failure are told to weigh every morning; when unwell, they do.
    forced: list[tuple[DeviceKind, int]] = [
        ("scale", t)
        for t in _daily(day + int(gain_days / 2) * DAY, fade, (c.rng.uniform(6.5, 8.5),))
        if t > onset
    ]
    return [
        c.event(
            "hf_decompensation",
            onset,
            times[3],
            severity="warning",
            metrics=[WT, HR],
            effects=[
                _trapezoid(WT, "add", gain, times),
                _trapezoid(HR, "add", c.rng.uniform(8, 14), times),
            ],
            shows=[Shows(WT, ">=", c.patient.baselines.weight + 1.5)],
            forced=forced,
            detail={"weight_gain_kg": round(gain, 1), "gain_days": round(gain_days, 1)},
        )
    ]


def copd_exacerbation(c: PlanContext, day: int) -> list[Event]:
    onset = c.at(day, 0, 24)
    peak = onset + int(c.span(1, 2) * DAY)
    fade = peak + int(c.span(2 if c.short else 3, 6) * DAY)
    times = (onset, peak, fade, fade + int(c.span(3, 5) * DAY))
    severe = c.rng.random() < 0.3
    target = c.rng.uniform(84.5, 86.5) if severe else c.rng.uniform(88.0, 89.2)
    target = min(target, c.patient.baselines.spo2 - 3.5)
    effects = [
        _trapezoid(SPO2, "blend", target, times),
        _trapezoid(RR, "add", c.rng.uniform(4, 8), times),
        _trapezoid(HR, "add", c.rng.uniform(8, 15), times),
    ]
    metrics = [SPO2, RR, HR]
    forced: list[tuple[DeviceKind, int]] = [
        ("oximeter", t) for t in _daily(day + DAY, fade, (10.0, 16.0)) if peak <= t
    ]
    nested = [
        c.event(
            "spo2_low",
            peak,
            fade,
            severity="critical",
            metrics=[SPO2],
            shows=[Shows(SPO2, "<", 88)],
        )
    ]
    if c.rng.random() < 0.4:
        f_onset = onset + (peak - onset) // 2
        f_fade = f_onset + int(c.rng.uniform(1.5, 3) * DAY)
        f_times = (f_onset, f_onset + 12 * HOUR, f_fade, f_fade + 12 * HOUR)
        effects.append(_trapezoid(TEMP, "blend", c.rng.uniform(38.3, 39.0), f_times))
        metrics.append(TEMP)
        if c.has("thermometer"):
            forced += [("thermometer", t) for t in _daily(day, f_times[2], (9.0, 20.0))]
            forced = [(k, t) for k, t in forced if k != "thermometer" or t > f_times[1]]
        nested.append(
            c.event(
                "fever",
                f_times[0],
                f_times[3],
                severity="warning",
                metrics=[TEMP],
                shows=[Shows(TEMP, ">=", 38.0)],
            )
        )
    main = c.event(
        "copd_exacerbation",
        onset,
        times[3],
        severity="critical" if severe else "warning",
        metrics=metrics,
        effects=effects,
        shows=[Shows(SPO2, "<", 90)],
        forced=forced,
    )
    return [main, *nested]


def spo2_low(c: PlanContext, day: int) -> list[Event]:
    onset = c.at(day, 7, 20)
    peak = onset + 30 * MINUTE
    fade = peak + int(c.rng.uniform(2, 6) * HOUR)
    times = (onset, peak, fade, fade + HOUR)
    return [
        c.event(
            "spo2_low",
            onset,
            times[3],
            severity="critical",
            metrics=[SPO2],
            effects=[
                _trapezoid(SPO2, "blend", c.rng.uniform(83.5, 86.5), times),
                _trapezoid(HR, "add", c.rng.uniform(5, 10), times),
            ],
            shows=[Shows(SPO2, "<", 88)],
            forced=[("oximeter", peak + 10 * MINUTE), ("oximeter", peak + 40 * MINUTE)],
        )
    ]


def misworn_oximeter(c: PlanContext, day: int) -> list[Event]:
    t = c.at(day, 8, 20)
    return [
        c.event(
            "misworn_oximeter",
            t,
            t,
            severity="info",
            metrics=[SPO2],
            non_event=True,
            effects=[Effect(SPO2, "blend", c.rng.uniform(72, 85), t - 1, t, t, t + 1)],
            shows=[Shows(SPO2, "<", 88)],
            forced=[("oximeter", t), ("oximeter", t + c.rng.randint(120, 240))],
            band=(40.0, 100.0),
        )
    ]


def _heart_rate(c: PlanContext, day: int, kind: str, low: float, high: float) -> list[Event]:
    onset = c.at(day, 0, 24)
    peak = onset + 10 * MINUTE
    fade = peak + int(c.rng.uniform(1, 5) * HOUR)
    times = (onset, peak, fade, fade + 20 * MINUTE)
    source = c.hr_source()
    forced: list[tuple[DeviceKind, int]] = []
    if source is not None and source != "hr_wearable":
        forced = [(source, peak + 15 * MINUTE), (source, peak + 45 * MINUTE)]
    rule = Shows(HR, ">", 120) if kind == "tachycardia" else Shows(HR, "<", 40)
    return [
        c.event(
            kind,
            onset,
            times[3],
            severity="warning",
            metrics=[HR],
            effects=[_trapezoid(HR, "blend", c.rng.uniform(low, high), times)],
            shows=[rule],
            min_shown=2,
            forced=forced,
        )
    ]


def tachycardia(c: PlanContext, day: int) -> list[Event]:
    return _heart_rate(c, day, "tachycardia", 126, 150)


def bradycardia(c: PlanContext, day: int) -> list[Event]:
    return _heart_rate(c, day, "bradycardia", 32, 37)


def post_exercise_hr(c: PlanContext, day: int) -> list[Event]:
    t0 = c.at(day, 7, 19)
    times = (t0 - MINUTE, t0, t0 + 4 * MINUTE, t0 + c.rng.randint(15, 30) * MINUTE)
    source = c.hr_source()
    assert source is not None
    return [
        c.event(
            "post_exercise_hr",
            times[0],
            times[3],
            severity="info",
            metrics=[HR],
            non_event=True,
            effects=[_trapezoid(HR, "blend", c.rng.uniform(122, 145), times)],
            shows=[Shows(HR, ">=", 110)],
            forced=[(source, t0 + c.rng.randint(60, 180))],
            band=(40.0, 180.0),
        )
    ]


def fever(c: PlanContext, day: int) -> list[Event]:
    onset = c.at(day, 0, 24)
    peak = onset + int(c.rng.uniform(6, 12) * HOUR)
    fade = peak + int(c.rng.uniform(1, 3) * DAY)
    times = (onset, peak, fade, fade + 12 * HOUR)
    target = c.rng.uniform(38.3, 39.4)
    main = c.event(
        "fever",
        onset,
        times[3],
        severity="warning",
        metrics=[TEMP],
        effects=[
            _trapezoid(TEMP, "blend", target, times),
            _trapezoid(HR, "add", (target - 37.0) * 8.0, times),  # about 8-10 /min per degC
        ],
        shows=[Shows(TEMP, ">=", 38.0)],
        forced=[("thermometer", t) for t in _daily(day, fade, (9.0, 20.0)) if t > peak],
    )
    fast = c.event("tachycardia", onset, times[3], severity="warning", metrics=[HR], min_shown=2)
    fast.shows = [Shows(HR, ">", 120)]
    return [main, fast]


def winter_clothes_weight(c: PlanContext, day: int) -> list[Event]:
    t = c.at(day, 6.5, 9)
    return [
        c.event(
            "winter_clothes_weight",
            t,
            t,
            severity="info",
            metrics=[WT],
            non_event=True,
            effects=[Effect(WT, "add", c.rng.uniform(1.3, 2.0), t - 1, t, t, t + 1)],
            shows=[Shows(WT, ">=", c.phys.base(WT, t) + 0.9)],
            # Yesterday's weighing, without the coat, is what makes today's look like a jump.
            forced=[("scale", t - DAY + c.rng.randint(-HOUR, HOUR)), ("scale", t)],
            band=(1.0, 400.0),
        )
    ]


def missed_measurements(c: PlanContext, day: int) -> list[Event]:
    start = c.at(day, 10, 20)
    end = start + int(c.span(3 if c.short else 4, 9) * DAY)
    metrics = sorted({m for d in c.patient.devices for m in DEVICE_METRICS[d.kind]})
    return [
        c.event(
            "missed_measurements",
            start,
            end,
            severity="warning",
            metrics=metrics,
            min_shown=0,
            suppress=True,
        )
    ]


Planner = Callable[[PlanContext, int], list[Event]]

PLANNERS: dict[str, tuple[Planner, tuple[DeviceKind, ...]]] = {
    # Long events first, so that short ones fill the gaps between them.
    "missed_measurements": (missed_measurements, ()),
    "copd_exacerbation": (copd_exacerbation, ("oximeter",)),
    "bp_above_target": (bp_above_target, ("bp_cuff",)),
    "hf_decompensation": (hf_decompensation, ("scale",)),
    "fever": (fever, ("thermometer",)),
    "hyperglycemia": (hyperglycemia, ("cgm", "glucometer")),
    "hypertensive_crisis": (hypertensive_crisis, ("bp_cuff",)),
    "hypoglycemia": (hypoglycemia, ("cgm", "glucometer")),
    "hypoglycemia_urgent": (hypoglycemia_urgent, ("cgm", "glucometer")),
    "spo2_low": (spo2_low, ("oximeter",)),
    "tachycardia": (tachycardia, ("hr_wearable", "oximeter", "bp_cuff")),
    "bradycardia": (bradycardia, ("hr_wearable", "oximeter", "bp_cuff")),
    "post_exercise_hr": (post_exercise_hr, ("hr_wearable", "oximeter", "bp_cuff")),
    "misworn_oximeter": (misworn_oximeter, ("oximeter",)),
    "meal_glucose_peak": (meal_glucose_peak, ("cgm", "glucometer")),
    "winter_clothes_weight": (winter_clothes_weight, ("scale",)),
}
"""Every kind, its planner and the devices of which the patient needs at least one."""
