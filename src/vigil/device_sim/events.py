"""Clinical events and non-events: how each one moves the readings, and the truth it becomes.

Each planner takes the patient's local midnight of the day the event starts and returns the
event, followed by any nested events it may show (a severe COPD exacerbation can also show
``spo2_low``; a fever can push a heart rate over 120). Nested events, like every event, are kept
in the truth only if the emitted readings actually show them (see ``generate.finalize_truth``).
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.device_sim.context import PlanContext
from vigil.device_sim.events_cardio import (
    bp_above_target,
    bradycardia,
    hf_decompensation,
    hypertensive_crisis,
    post_exercise_hr,
    tachycardia,
    winter_clothes_weight,
)
from vigil.device_sim.events_glucose import (
    hyperglycemia,
    hypoglycemia,
    hypoglycemia_urgent,
    meal_glucose_peak,
)
from vigil.device_sim.events_respiratory import (
    copd_exacerbation,
    fever,
    misworn_oximeter,
    spo2_low,
)
from vigil.device_sim.models import DAY, DeviceKind, Event
from vigil.device_sim.physiology import DEVICE_METRICS

__all__ = ["PLANNERS", "PlanContext", "Planner"]


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
