"""The one table of metrics: canonical UCUM units, LOINC codes, accepted units, plausibility.

Everything that knows what a "reading" can be reads this module. Conversions happen on the way
in, so storage, detectors and the API only ever see canonical units.

>>> to_canonical(Metric.GLUCOSE, 5.5, "mmol/L")
99.09
>>> to_canonical(Metric.BODY_WEIGHT, 176.4, "[lb_av]")
80.0137
>>> to_canonical(Metric.BODY_TEMPERATURE, 98.6, "[degF]")
37.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from vigil.core.errors import ImplausibleValue, UnknownUnit


class Metric(StrEnum):
    HEART_RATE = "heart_rate"
    SPO2 = "spo2"
    BP_SYSTOLIC = "bp_systolic"
    BP_DIASTOLIC = "bp_diastolic"
    GLUCOSE = "glucose"
    BODY_WEIGHT = "body_weight"
    BODY_TEMPERATURE = "body_temperature"
    RESPIRATORY_RATE = "respiratory_rate"


BLOOD_PRESSURE = "blood_pressure"
"""A payload's name for one cuff measurement: systolic, diastolic and (optionally) pulse."""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    metric: Metric
    display: str
    ucum: str
    loinc: str
    low: float
    high: float
    decimals: int
    units: Mapping[str, Callable[[float], float]]
    """Accepted unit spellings (compared case-sensitively, UCUM first) to canonical converters."""


def _same(v: float) -> float:
    return v


def _lb_to_kg(v: float) -> float:
    return v * 0.45359237


def _g_to_kg(v: float) -> float:
    return v / 1000.0


def _mmol_to_mgdl(v: float) -> float:
    return v * 18.016


def _degf_to_cel(v: float) -> float:
    return (v - 32.0) * 5.0 / 9.0


def _kpa_to_mmhg(v: float) -> float:
    return v * 7.500616827


_PER_MIN: dict[str, Callable[[float], float]] = {
    "/min": _same,
    "{beats}/min": _same,
    "bpm": _same,
    "1/min": _same,
}
_MMHG: dict[str, Callable[[float], float]] = {"mm[Hg]": _same, "mmHg": _same, "kPa": _kpa_to_mmhg}

SPECS: dict[Metric, MetricSpec] = {
    s.metric: s
    for s in (
        MetricSpec(Metric.HEART_RATE, "Heart rate", "/min", "8867-4", 20, 300, 0, _PER_MIN),
        MetricSpec(Metric.SPO2, "Oxygen saturation", "%", "59408-5", 40, 100, 0, {"%": _same}),
        MetricSpec(Metric.BP_SYSTOLIC, "Systolic BP", "mm[Hg]", "8480-6", 40, 300, 0, _MMHG),
        MetricSpec(Metric.BP_DIASTOLIC, "Diastolic BP", "mm[Hg]", "8462-4", 20, 200, 0, _MMHG),
        MetricSpec(
            Metric.GLUCOSE,
            "Glucose",
            "mg/dL",
            "2339-0",
            10,
            1000,
            0,
            {"mg/dL": _same, "mmol/L": _mmol_to_mgdl},
        ),
        MetricSpec(
            Metric.BODY_WEIGHT,
            "Body weight",
            "kg",
            "29463-7",
            1,
            400,
            2,
            {"kg": _same, "[lb_av]": _lb_to_kg, "lb": _lb_to_kg, "lbs": _lb_to_kg, "g": _g_to_kg},
        ),
        MetricSpec(
            Metric.BODY_TEMPERATURE,
            "Body temperature",
            "Cel",
            "8310-5",
            25,
            45,
            1,
            {"Cel": _same, "degC": _same, "[degF]": _degf_to_cel, "degF": _degf_to_cel},
        ),
        MetricSpec(
            Metric.RESPIRATORY_RATE,
            "Respiratory rate",
            "/min",
            "9279-1",
            2,
            80,
            0,
            {"/min": _same, "{breaths}/min": _same, "1/min": _same},
        ),
    )
}

BP_COMPONENTS: dict[str, Metric] = {
    "systolic": Metric.BP_SYSTOLIC,
    "diastolic": Metric.BP_DIASTOLIC,
    "pulse": Metric.HEART_RATE,
}


def to_canonical(metric: Metric, value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to the metric's canonical unit and check plausibility.

    Raises :class:`UnknownUnit` or :class:`ImplausibleValue` with a reason an operator can read.
    """
    spec = SPECS[metric]
    convert = spec.units.get(unit)
    if convert is None:
        accepted = ", ".join(spec.units)
        raise UnknownUnit(f"unit {unit!r} is not accepted for {metric}; use one of {accepted}")
    canonical = round(convert(value), spec.decimals + 2)
    if not spec.low <= canonical <= spec.high:
        raise ImplausibleValue(
            f"{metric} {canonical:g} {spec.ucum} is outside the physiologically possible "
            f"range {spec.low:g}-{spec.high:g} {spec.ucum}"
        )
    return canonical
