"""What an event planner works with: the patient, their physiology, a random source, and
helpers to shape an event's effect in time."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from vigil.core.metrics import Metric
from vigil.device_sim.models import DAY, HOUR, DeviceKind, Effect, Event, Patient, Severity, Shows
from vigil.device_sim.physiology import Physiology

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

    def event(
        self,
        kind: str,
        start: int,
        end: int,
        *,
        severity: Severity,
        metrics: list[Metric],
        non_event: bool = False,
        effects: list[Effect] | None = None,
        shows: list[Shows] | None = None,
        min_shown: int = 1,
        forced: list[tuple[DeviceKind, int]] | None = None,
        band: tuple[float, float] | None = None,
        suppress: bool = False,
        detail: dict[str, Any] | None = None,
    ) -> Event:
        """An event of this patient (see :class:`Event` for the fields)."""
        return Event(
            self.patient.patient_id,
            kind,
            start,
            end,
            severity,
            metrics,
            non_event=non_event,
            effects=effects or [],
            shows=shows or [],
            min_shown=min_shown,
            forced=forced or [],
            band=band,
            suppress=suppress,
            detail=detail or {},
        )


Times = tuple[int, int, int, int]
"""An effect's onset, peak, fade and end."""


def trapezoid(metric: Metric, mode: str, amount: float, times: Times) -> Effect:
    onset, peak, fade, end = times
    return Effect(metric, "add" if mode == "add" else "blend", amount, onset, peak, fade, end)


def daily(day_from: int, day_to: int, hours: tuple[float, ...]) -> list[int]:
    out: list[int] = []
    day = day_from
    while day < day_to:
        out.extend(day + int(h * HOUR) for h in hours)
        day += DAY
    return out
