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
from typing import Literal

from vigil.core.errors import ImplausibleValue, RejectionKind, UnknownUnit


class Metric(StrEnum):
    HEART_RATE = "heart_rate"
    SPO2 = "spo2"
    BP_SYSTOLIC = "bp_systolic"
    BP_DIASTOLIC = "bp_diastolic"
    GLUCOSE = "glucose"
    BODY_WEIGHT = "body_weight"
    BODY_TEMPERATURE = "body_temperature"
    RESPIRATORY_RATE = "respiratory_rate"
    INSULIN = "insulin"
    """A bolus of rapid-acting insulin, as a pump or smart pen records it (units)."""
    CARBS = "carbs"
    """Carbohydrate the patient entered for a meal (grams): their estimate, not a measurement."""
    STEPS = "steps"
    """Steps a wearable counted in the minute before the reading (its intraday step series, per
    minute): what tells a heart rate raised by a walk or exercise from one raised at rest."""


TREATMENTS: frozenset[Metric] = frozenset({Metric.INSULIN, Metric.CARBS})
"""What was given or eaten, not measured: no reminder asks for it, no streak counts it (a
reminder to "take your insulin" from a feed would be advice no care team gave)."""
ACTIVITY: frozenset[Metric] = frozenset({Metric.STEPS})
"""What a wearable counts of the patient's movement: context for the heart-rate rules, not a
vital sign."""
NOT_VITALS: frozenset[Metric] = TREATMENTS | ACTIVITY
"""Neither a measurement the patient takes nor a vital sign: no reminder asks for it, no streak
counts it, and its freshness does not say the patient is measuring."""

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
    """Accepted unit spellings (UCUM first) to canonical converters; see :func:`unit_name`."""


def _same(v: float) -> float:
    return v


def _lb_to_kg(v: float) -> float:
    return v * 0.45359237


def _g_to_kg(v: float) -> float:
    return v / 1000.0


MGDL_PER_MMOL = 18.016
"""Glucose: mg/dL in one mmol/L (the molar mass of glucose, 180.16 g/mol, over 10). The one
factor ingest, the simulator and the pages (through each page's embedded messages) convert by."""


def _mmol_to_mgdl(v: float) -> float:
    return v * MGDL_PER_MMOL


def _degf_to_cel(v: float) -> float:
    return (v - 32.0) * 5.0 / 9.0


def _kpa_to_mmhg(v: float) -> float:
    return v * 7.500616827


_INSULIN_UNITS: dict[str, Callable[[float], float]] = {"U": _same, "[iU]": _same, "IU": _same}
"""Rapid-acting insulin analogues are dosed in units: UCUM's ``U`` (the enzyme unit) is a
different quantity, but pumps and pens write ``U``; ``[iU]`` is UCUM's international unit."""

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
        # A pump delivers in 0.05 U steps; a bolus above 100 U is a typing error, not a dose.
        MetricSpec(Metric.INSULIN, "Insulin bolus", "[iU]", "", 0.05, 100, 2, _INSULIN_UNITS),
        # A meal's entered carbohydrate: 0 g (a correction bolus) to 500 g.
        MetricSpec(Metric.CARBS, "Carbohydrate", "g", "9059-7", 0, 500, 0, {"g": _same}),
        MetricSpec(
            Metric.STEPS,
            "Steps",
            "/min",
            "55423-8",
            0,
            300,
            0,
            {"/min": _same, "{steps}/min": _same, "steps/min": _same},
        ),
    )
}

METRIC_CODES: dict[Metric, int] = {
    Metric.HEART_RATE: 1,
    Metric.SPO2: 2,
    Metric.BP_SYSTOLIC: 3,
    Metric.BP_DIASTOLIC: 4,
    Metric.GLUCOSE: 5,
    Metric.BODY_WEIGHT: 6,
    Metric.BODY_TEMPERATURE: 7,
    Metric.RESPIRATORY_RATE: 8,
    Metric.INSULIN: 9,
    Metric.CARBS: 10,
    Metric.STEPS: 11,
}
"""Each metric's number in storage (a smallint in every stored reading): never reuse or change
one; a new metric takes the next. The database's ``reading_metrics`` is kept equal to it."""

BP_COMPONENTS: dict[str, Metric] = {
    "systolic": Metric.BP_SYSTOLIC,
    "diastolic": Metric.BP_DIASTOLIC,
    "pulse": Metric.HEART_RATE,
}


Censored = Literal["below", "above"]
CGM_LOW_MGDL = 40.0
"""A CGM's LOW: below its range (Dexcom: under 40 mg/dL); stored as 40 with censored 'below'."""
CGM_HIGH_MGDL = 400.0
"""A CGM's HIGH: above its range (over 400 mg/dL); stored as 400 with censored 'above'."""
CENSORED_MARKS: dict[str, tuple[float, Censored]] = {
    "LOW": (CGM_LOW_MGDL, "below"),
    "HIGH": (CGM_HIGH_MGDL, "above"),
}
"""A glucose ``value`` a CGM may send instead of a number (compared case-insensitively)."""


def unit_name(metric: Metric, unit: str) -> str | None:
    """The accepted spelling ``unit`` stands for: exact first, then case-insensitively, as
    UCUM's case-insensitive form allows (``mg/dl``, ``MMOL/L``, ``MM[HG]``); no two accepted
    spellings of one metric differ only in case, so the match is never ambiguous.

    >>> unit_name(Metric.GLUCOSE, "mg/dl"), unit_name(Metric.GLUCOSE, "mmol/l")
    ('mg/dL', 'mmol/L')
    """
    units = SPECS[metric].units
    if unit in units:
        return unit
    folded = unit.casefold()
    return next((name for name in units if name.casefold() == folded), None)


GLUCOSE_MGDL_FLOOR = 20.0
"""Below this, a mg/dL value is a probable mmol/L one (meters and CGMs report nothing lower in
mg/dL; mmol/L values run 1-33)."""
GLUCOSE_MMOL_CEILING = 27.8
"""Above this (500 mg/dL), a mmol/L value is a probable mg/dL one (ordinary mg/dL values start
there; meters show HI from about 27.8-33.3 mmol/L). A genuine reading above is kept as a
rejection with its reason, not lost."""


GLUCOSE_MMOL_PLAUSIBLE = (1.1, 33.3)
GLUCOSE_MGDL_PLAUSIBLE = (20.0, 600.0)
"""What meters and CGMs report in each unit: a value is called a mix-up only when it reads as
plausible in the other unit (else the plausibility range gives the reason)."""


def _check_glucose_unit(value: float, unit: str) -> None:
    low, high = GLUCOSE_MMOL_PLAUSIBLE
    if unit == "mg/dL" and value < GLUCOSE_MGDL_FLOOR and low <= value <= high:
        raise ImplausibleValue(
            f"glucose {value:g} mg/dL is a probable unit mix-up: it fits mmol/L"
            f" ({value:g} mmol/L = {_mmol_to_mgdl(value):.0f} mg/dL); values below"
            f" {GLUCOSE_MGDL_FLOOR:g} mg/dL are refused",
            kind=RejectionKind.UNIT,
        )
    low, high = GLUCOSE_MGDL_PLAUSIBLE
    if unit == "mmol/L" and value > GLUCOSE_MMOL_CEILING and low <= value <= high:
        raise ImplausibleValue(
            f"glucose {value:g} mmol/L ({_mmol_to_mgdl(value):.0f} mg/dL) is a probable unit"
            f" mix-up: it fits mg/dL ({value:g} mg/dL); values above"
            f" {GLUCOSE_MMOL_CEILING:g} mmol/L are refused",
            kind=RejectionKind.UNIT,
        )


def to_canonical(metric: Metric, value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to the metric's canonical unit and check plausibility.

    Raises :class:`UnknownUnit` or :class:`ImplausibleValue` with a reason an operator can read.
    """
    spec = SPECS[metric]
    name = unit_name(metric, unit)
    if name is None:
        accepted = ", ".join(spec.units)
        raise UnknownUnit(f"unit {unit!r} is not accepted for {metric}; use one of {accepted}")
    if metric is Metric.GLUCOSE:
        _check_glucose_unit(value, name)
    canonical = round(spec.units[name](value), spec.decimals + 2)
    if not spec.low <= canonical <= spec.high:
        raise ImplausibleValue(
            f"{metric} {canonical:g} {spec.ucum} is outside the physiologically possible "
            f"range {spec.low:g}-{spec.high:g} {spec.ucum}"
        )
    return canonical
