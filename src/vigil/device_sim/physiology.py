"""A patient's physiology over time: baseline, circadian rhythm, slow drifts and device noise.

``Physiology.base`` is the true value a perfect device would read at a time, before events;
``Physiology.noise`` is what the device class adds on top. Sources are in docs/device_sim.md.
"""

from __future__ import annotations

import math
import random

from vigil.core.metrics import Metric
from vigil.device_sim.models import DAY, HOUR, MINUTE, DeviceKind, Patient

GRID_S = 5 * MINUTE
KNOT_S = 30 * MINUTE

NORMAL_BANDS: dict[Metric, tuple[float, float]] = {
    Metric.BP_SYSTOLIC: (92.0, 168.0),
    Metric.BP_DIASTOLIC: (50.0, 106.0),
    Metric.HEART_RATE: (43.0, 117.0),
    Metric.SPO2: (90.0, 100.0),
    Metric.GLUCOSE: (72.0, 244.0),
    Metric.BODY_TEMPERATURE: (35.8, 37.6),
    Metric.RESPIRATORY_RATE: (10.0, 24.0),
    Metric.BODY_WEIGHT: (1.0, 400.0),
}
"""Outside a labelled event a reading stays in these bands: threshold crossings are events."""


def _bump(hour: float, centre: float, width: float) -> float:
    """A Gaussian bump on the 24-hour clock (wraps around midnight)."""
    d = (hour - centre + 12.0) % 24.0 - 12.0
    return math.exp(-((d / width) ** 2))


def _soft_range(x: float, low: float, knee_low: float, knee_high: float, high: float) -> float:
    """Identity between the knees, approaching ``low``/``high`` exponentially beyond them.

    Smooth (slope 1 at the knees, falling toward 0), so a trace slows down as it nears a limit
    instead of hitting a wall: outside events a CGM trace neither falls fast near 90 mg/dL nor
    climbs past 240.
    """
    if x < knee_low:
        span = knee_low - low
        return low + span * math.exp((x - knee_low) / span)
    if x > knee_high:
        span = high - knee_high
        return high - span * math.exp(-(x - knee_high) / span)
    return x


def _ar_series(rng: random.Random, n: int, phi: float, sd: float) -> list[float]:
    """An AR(1) series with stationary standard deviation ``sd``."""
    innovation = sd * math.sqrt(1.0 - phi * phi)
    x = rng.gauss(0.0, sd)
    out = []
    for _ in range(n):
        out.append(x)
        x = phi * x + rng.gauss(0.0, innovation)
    return out


class Physiology:
    """Everything time-varying about one patient, precomputed for the run."""

    def __init__(self, patient: Patient, rng: random.Random, start: int, days: int) -> None:
        self.patient = patient
        self.rng = rng
        self.start = start
        self.offset = patient.utc_offset_h * HOUR
        has = set(patient.conditions)
        self.diabetic = bool(has & {"t1d", "t2d"})
        self.t1d = "t1d" in has
        n_days = days + 3
        self.day0 = (start + self.offset) // DAY - 1
        self.bp_day = [(rng.gauss(0, 3.0), rng.gauss(0, 2.0)) for _ in range(n_days)]
        self.weight_day = _ar_series(rng, n_days, 0.6, 0.35)
        self.temp_day = [rng.gauss(0, 0.08) for _ in range(n_days)]
        self.meals: list[list[tuple[int, float]]] = []
        size = (35.0, 80.0) if self.t1d else (30.0, 60.0) if self.diabetic else (12.0, 25.0)
        for d in range(n_days):
            local_midnight = (self.day0 + d) * DAY - self.offset
            self.meals.append(
                [
                    (local_midnight + int(rng.uniform(lo, hi) * HOUR), rng.uniform(*size))
                    for lo, hi in ((7.0, 9.0), (12.0, 13.5), (18.0, 20.5))
                ]
            )
        n_grid = n_days * DAY // GRID_S + 2
        slow_sd = 28.0 if self.t1d else 10.0 if self.diabetic else 4.0
        # Slow drift at 30-minute knots, interpolated: a CGM trace is smooth at 5 minutes.
        self.glucose_slow = _ar_series(rng, n_grid // 6 + 2, math.exp(-30 / 120), slow_sd)
        self.cgm_error = _ar_series(rng, n_grid, 0.9, 0.035) if self.t1d else []
        self.grid0 = self.day0 * DAY - self.offset

    def local_hour(self, t: int) -> float:
        return ((t + self.offset) % DAY) / HOUR

    def local_day(self, t: int) -> int:
        """Index of the patient's local calendar day, 0 = the day before the run starts."""
        return (t + self.offset) // DAY - self.day0

    def _meal_glucose(self, t: int) -> float:
        total = 0.0
        tp = 60.0 * MINUTE
        d = self.local_day(t)
        for meals in self.meals[max(d - 1, 0) : d + 1]:
            for when, size in meals:
                dt = t - when
                if 0 < dt < 5 * HOUR:
                    x = dt / tp
                    total += size * x * math.exp(1.0 - x)
        return total

    def base(self, metric: Metric, t: int) -> float:
        b = self.patient.baselines
        h = self.local_hour(t)
        if metric in (Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC):
            sys_day, dia_day = self.bp_day[self.local_day(t)]
            surge = _bump(h, 8.0, 2.0)
            dip = _bump(h, 3.0, 2.5)
            if metric is Metric.BP_SYSTOLIC:
                return b.systolic + sys_day + 7.0 * surge - 12.0 * dip
            return b.diastolic + dia_day + 4.0 * surge - 8.0 * dip
        if metric is Metric.HEART_RATE:
            return b.heart_rate - 9.0 * _bump(h, 3.5, 2.5) + 3.0 * _bump(h, 15.0, 4.0)
        if metric is Metric.SPO2:
            return b.spo2 - 0.8 * _bump(h, 3.0, 2.5)
        if metric is Metric.RESPIRATORY_RATE:
            return b.respiratory_rate - 1.5 * _bump(h, 3.0, 2.5)
        if metric is Metric.BODY_TEMPERATURE:
            circadian = 0.25 * math.cos(2 * math.pi * (h - 17.0) / 24.0)
            return b.temperature + circadian + self.temp_day[self.local_day(t)]
        if metric is Metric.BODY_WEIGHT:
            return b.weight + self.weight_day[self.local_day(t)] + 0.15 * (h - 7.0) / 12.0
        # Glucose: mean, dawn phenomenon, meals, slow drift; softly kept in a plausible range.
        dawn = (12.0 if self.diabetic else 3.0) * _bump(h, 6.5, 1.5)
        knot, frac = divmod((t - self.grid0) / KNOT_S, 1.0)
        k = int(knot)
        slow = self.glucose_slow[k] * (1.0 - frac) + self.glucose_slow[k + 1] * frac
        g = b.glucose - (12.0 if self.diabetic else 6.0) + dawn + self._meal_glucose(t) + slow
        return _soft_range(g, 85.0, 115.0, 200.0, 240.0)

    def noise(self, kind: DeviceKind, metric: Metric, t: int, value: float) -> float:
        """The device class's measurement error (and, for a wearable, everyday activity)."""
        gauss = self.rng.gauss
        if kind == "bp_cuff":
            sd = {Metric.BP_SYSTOLIC: 6.0, Metric.BP_DIASTOLIC: 4.0}.get(metric, 3.0)
            return gauss(0.0, sd)
        if kind == "cgm":
            error = self.cgm_error[(t - self.grid0) // GRID_S]
            return value * error + gauss(0.0, 1.5)
        if kind == "glucometer":
            return value * gauss(0.0, 0.04)
        if kind == "scale":
            return gauss(0.0, 0.05)
        if kind == "thermometer":
            return gauss(0.0, 0.1)
        if kind == "oximeter":
            sd = {Metric.SPO2: 0.9, Metric.HEART_RATE: 2.5}.get(metric, 1.2)
            return gauss(0.0, sd)
        # Optical wrist heart rate: a few beats of error, plus walking and chores by day.
        activity = 0.0
        h = self.local_hour(t)
        if 8.0 <= h < 21.0 and self.rng.random() < 0.2:
            activity = self.rng.uniform(5.0, 25.0)
        return gauss(0.0, 3.0) + activity


DEVICE_METRICS: dict[DeviceKind, tuple[Metric, ...]] = {
    "bp_cuff": (Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC, Metric.HEART_RATE),
    "cgm": (Metric.GLUCOSE,),
    "glucometer": (Metric.GLUCOSE,),
    "scale": (Metric.BODY_WEIGHT,),
    "oximeter": (Metric.SPO2, Metric.HEART_RATE, Metric.RESPIRATORY_RATE),
    "thermometer": (Metric.BODY_TEMPERATURE,),
    "hr_wearable": (Metric.HEART_RATE,),
}
