"""Glucose events: hypo- and hyperglycaemia with a CGM-like shape, and a heavy meal's peak."""

from __future__ import annotations

from vigil.device_sim.context import (
    GLU,
    PlanContext,
    trapezoid,
)
from vigil.device_sim.models import HOUR, MINUTE, DeviceKind, Event, Shows


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
        effects=[trapezoid(GLU, "blend", nadir, times)],
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
            effects=[trapezoid(GLU, "blend", c.rng.uniform(275, 360), times)],
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
            effects=[trapezoid(GLU, "blend", c.rng.uniform(192, 222), times)],
            shows=[Shows(GLU, ">=", 180)],
            forced=forced,
            band=(72.0, 244.0),
        )
    ]
