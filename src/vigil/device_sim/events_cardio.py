"""Cardiovascular events: blood pressure, heart rate, heart-failure fluid, and the non-events
that look like them."""

from __future__ import annotations

from vigil.device_sim.context import (
    DIA,
    HR,
    SYS,
    WT,
    PlanContext,
    daily,
    trapezoid,
)
from vigil.device_sim.models import DAY, HOUR, MINUTE, DeviceKind, Effect, Event, Shows


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
                trapezoid(SYS, "blend", c.rng.uniform(188, 215), times),
                trapezoid(DIA, "blend", dia, times),
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
                trapezoid(SYS, "add", c.rng.uniform(15, 22), times),
                trapezoid(DIA, "add", c.rng.uniform(7, 11), times),
            ],
            shows=[Shows(SYS, ">=", 135), Shows(DIA, ">=", 85)],
            min_shown=3,
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
        for t in daily(day + int(gain_days / 2) * DAY, fade, (c.rng.uniform(6.5, 8.5),))
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
                trapezoid(WT, "add", gain, times),
                trapezoid(HR, "add", c.rng.uniform(8, 14), times),
            ],
            shows=[Shows(WT, ">=", c.patient.baselines.weight + 1.5)],
            forced=forced,
            detail={"weight_gain_kg": round(gain, 1), "gain_days": round(gain_days, 1)},
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
            effects=[trapezoid(HR, "blend", c.rng.uniform(low, high), times)],
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
            effects=[trapezoid(HR, "blend", c.rng.uniform(122, 145), times)],
            shows=[Shows(HR, ">=", 110)],
            forced=[(source, t0 + c.rng.randint(60, 180))],
            band=(40.0, 180.0),
        )
    ]


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
