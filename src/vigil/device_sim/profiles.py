"""Who a simulated patient is: conditions, age, sex, personal baselines, devices and their units.

Baselines are drawn per patient from ranges in docs/device_sim.md; each is clipped to a range that
stays clear of the clinical thresholds, so alarms come from labelled events, not from a patient
who was simply drawn at an extreme.
"""

from __future__ import annotations

import random

from vigil.core.metrics import Metric
from vigil.device_sim.models import Baselines, Condition, Device, DeviceKind, Patient
from vigil.device_sim.scenarios import Scenario

DEVICES_FOR: dict[Condition, tuple[DeviceKind, ...]] = {
    "hypertension": ("bp_cuff",),
    "t1d": ("cgm",),
    "t2d": ("glucometer",),
    "heart_failure": ("scale", "bp_cuff", "hr_wearable"),
    "copd": ("oximeter", "thermometer"),
    "healthy": ("bp_cuff", "scale", "hr_wearable", "thermometer"),
}
DEVICE_ORDER: tuple[DeviceKind, ...] = (
    "bp_cuff",
    "cgm",
    "glucometer",
    "scale",
    "oximeter",
    "thermometer",
    "hr_wearable",
)
SUFFIX: dict[DeviceKind, str] = {
    "bp_cuff": "bp",
    "cgm": "cgm",
    "glucometer": "glu",
    "scale": "scale",
    "oximeter": "ox",
    "thermometer": "temp",
    "hr_wearable": "hr",
}
AGE_RANGE: dict[Condition, tuple[int, int]] = {
    "hypertension": (45, 82),
    "t1d": (18, 65),
    "t2d": (40, 80),
    "heart_failure": (55, 88),
    "copd": (50, 85),
    "healthy": (25, 75),
}
UTC_OFFSETS = (-8, -7, -6, -5, 0, 1, 2)


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def pick_conditions(rng: random.Random, scenario: Scenario) -> list[Condition]:
    x = rng.random()
    for conditions, share in scenario.mix:
        x -= share
        if x < 0:
            return list(conditions)
    return list(scenario.mix[-1][0])


def draw_baselines(
    rng: random.Random, conditions: list[Condition], age: int, sex: str
) -> Baselines:
    has = set(conditions)
    if "hypertension" in has:
        # Treated, mostly controlled: home BP target < 135/85 (ESH 2023).
        # A 7-day home mean (with the morning surge) stays under 135/85 mmHg; uncontrolled
        # pressure is the labelled bp_above_target event.
        systolic = _clip(rng.gauss(120, 4), 112, 126)
        diastolic = _clip(rng.gauss(76, 3), 68, 80)
    else:
        systolic = _clip(rng.gauss(108 + 0.3 * (age - 25), 6), 100, 124)
        diastolic = _clip(rng.gauss(72, 4), 62, 78)
    if "heart_failure" in has:
        heart_rate = _clip(rng.gauss(68, 5), 58, 80)  # beta-blocked
    elif "copd" in has:
        heart_rate = _clip(rng.gauss(80, 6), 68, 90)
    else:
        heart_rate = _clip(rng.gauss(70, 7), 56, 84)
    if "copd" in has:
        spo2 = rng.uniform(92.5, 95.5)
        respiratory_rate = _clip(rng.gauss(18.5, 1.2), 16, 21)
    else:
        spo2 = _clip(rng.gauss(97.3, 0.8), 95.5, 99)
        respiratory_rate = _clip(rng.gauss(15, 1.5), 12, 18)
    mean_weight = 84.0 if sex == "M" else 70.0
    if "heart_failure" in has or "t2d" in has:
        mean_weight += 8.0
    weight = _clip(rng.gauss(mean_weight, 12), 45, 150)
    if "t1d" in has:
        glucose = rng.uniform(125, 155)  # CGM mean; GMI about 6.3-7.0 %
    elif "t2d" in has:
        glucose = rng.uniform(105, 135)  # fasting fingerstick
    else:
        glucose = rng.uniform(85, 99)
    return Baselines(
        systolic=systolic,
        diastolic=diastolic,
        heart_rate=heart_rate,
        spo2=spo2,
        respiratory_rate=respiratory_rate,
        temperature=_clip(rng.gauss(36.6, 0.15), 36.2, 37.0),
        weight=weight,
        glucose=glucose,
    )


def _units(rng: random.Random, kind: DeviceKind, locale: str) -> dict[Metric, str]:
    if kind == "bp_cuff":
        unit = "mmHg" if rng.random() < 0.2 else "mm[Hg]"
        return {Metric.BP_SYSTOLIC: unit, Metric.BP_DIASTOLIC: unit, Metric.HEART_RATE: "/min"}
    if kind in ("cgm", "glucometer"):
        return {Metric.GLUCOSE: "mmol/L" if locale == "mmol" else "mg/dL"}
    if kind == "scale":
        if locale == "us":
            return {Metric.BODY_WEIGHT: "[lb_av]" if rng.random() < 0.5 else "lb"}
        return {Metric.BODY_WEIGHT: "kg"}
    if kind == "thermometer":
        return {Metric.BODY_TEMPERATURE: "[degF]" if locale == "us" else "Cel"}
    if kind == "oximeter":
        return {Metric.SPO2: "%", Metric.HEART_RATE: "/min", Metric.RESPIRATORY_RATE: "/min"}
    return {Metric.HEART_RATE: "/min"}


def make_patient(rng: random.Random, index: int, scenario: Scenario) -> Patient:
    conditions = pick_conditions(rng, scenario)
    low, high = AGE_RANGE[conditions[0]]
    age = rng.randint(low, high)
    sex = "M" if rng.random() < (0.6 if "heart_failure" in conditions else 0.5) else "F"
    offset = rng.choice(UTC_OFFSETS)
    locale = rng.choices(("us", "mgdl", "mmol"), weights=(0.3, 0.45, 0.25))[0]
    if offset < 0:
        locale = "us" if rng.random() < 0.8 else "mgdl"
    patient = Patient(
        patient_id=f"p{index + 1:04d}",
        conditions=conditions,
        age=age,
        sex="M" if sex == "M" else "F",
        utc_offset_h=offset,
        adherence=rng.uniform(*scenario.adherence),
        baselines=draw_baselines(rng, conditions, age, sex),
    )
    kinds = {k for c in conditions for k in DEVICES_FOR[c]}
    for kind in DEVICE_ORDER:
        if kind not in kinds:
            continue
        drifting = rng.random() < scenario.drift_fraction
        patient.devices.append(
            Device(
                device_id=f"sim-{patient.patient_id}-{SUFFIX[kind]}",
                kind=kind,
                units=_units(rng, kind, locale),
                drift_s=rng.uniform(-90, 90) if drifting else 0.0,
                drift_per_day_s=rng.uniform(-2, 2) if drifting else 0.0,
            )
        )
    return patient
