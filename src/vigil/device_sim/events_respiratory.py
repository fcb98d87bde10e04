"""Respiratory and infection events: COPD exacerbation, low SpO2, fever, a mis-worn oximeter."""

from __future__ import annotations

from vigil.device_sim.context import (
    HR,
    RR,
    SPO2,
    TEMP,
    PlanContext,
    daily,
    trapezoid,
)
from vigil.device_sim.models import DAY, HOUR, MINUTE, DeviceKind, Effect, Event, Shows


def copd_exacerbation(c: PlanContext, day: int) -> list[Event]:
    onset = c.at(day, 0, 24)
    peak = onset + int(c.span(1, 2) * DAY)
    fade = peak + int(c.span(2 if c.short else 3, 6) * DAY)
    times = (onset, peak, fade, fade + int(c.span(3, 5) * DAY))
    severe = c.rng.random() < 0.3
    target = c.rng.uniform(84.5, 86.5) if severe else c.rng.uniform(88.0, 89.2)
    target = min(target, c.patient.baselines.spo2 - 3.5)
    effects = [
        trapezoid(SPO2, "blend", target, times),
        trapezoid(RR, "add", c.rng.uniform(4, 8), times),
        trapezoid(HR, "add", c.rng.uniform(8, 15), times),
    ]
    metrics = [SPO2, RR, HR]
    forced: list[tuple[DeviceKind, int]] = [
        ("oximeter", t) for t in daily(day + DAY, fade, (10.0, 16.0)) if peak <= t
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
        effects.append(trapezoid(TEMP, "blend", c.rng.uniform(38.3, 39.0), f_times))
        metrics.append(TEMP)
        if c.has("thermometer"):
            forced += [("thermometer", t) for t in daily(day, f_times[2], (9.0, 20.0))]
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
                trapezoid(SPO2, "blend", c.rng.uniform(83.5, 86.5), times),
                trapezoid(HR, "add", c.rng.uniform(5, 10), times),
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
            trapezoid(TEMP, "blend", target, times),
            trapezoid(HR, "add", (target - 37.0) * 8.0, times),  # about 8-10 /min per degC
        ],
        shows=[Shows(TEMP, ">=", 38.0)],
        forced=[("thermometer", t) for t in daily(day, fade, (9.0, 20.0)) if t > peak],
    )
    fast = c.event(
        "tachycardia",
        onset,
        times[3],
        severity="warning",
        metrics=[HR],
        shows=[Shows(HR, ">", 120)],
        min_shown=2,
    )
    return [main, fast]
