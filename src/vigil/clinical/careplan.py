"""A patient's care plan: thresholds and targets, with defaults from published guidance that a
clinician can override per patient (stored in ``care_plans``).

The one home of these defaults and of how a stored plan is laid over them
(:meth:`CarePlan.from_stored`): detection, the care-plan preview, coaching, triage and the
patient's feed all read a plan built here. A stored limit replaces its default; a limit the plan
leaves unset (absent or null) keeps the default, so setting a low threshold never drops the
high one.

>>> plan = CarePlan.default_for({"copd"})
>>> plan.threshold(Metric.SPO2).low, CarePlan.default_for(set()).threshold(Metric.SPO2).low
(88.0, 90.0)
>>> CarePlan.from_stored({"hypertension"}, {"bp_systolic": {"high": 170}}, {}).threshold(
...     Metric.BP_SYSTOLIC).high
170.0
>>> CarePlan.from_stored(set(), {"glucose": {"low": 75, "high": None}}, None).threshold(
...     Metric.GLUCOSE)
Limits(low=75.0, high=250.0)
>>> as_stored(CarePlan.default_for({"copd"}).targets)["spo2"]
{'low': 88.0, 'high': 92.0}
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any, ClassVar

from vigil.core.conditions import Condition, parse_conditions
from vigil.core.metrics import Metric

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    low: float | None = None
    high: float | None = None


_NO_LIMITS = Limits()
"""Neither end set (immutable: one object serves every lookup)."""


# Alert thresholds (crossing one is an alarm), from guidance:
# - hypertensive crisis >= 180 systolic and/or >= 120 diastolic (ACC/AHA 2017, ESH 2023)
# - SpO2 below 90 % (below 88 % for COPD patients who retain CO2: BTS 2017 target 88-92 %)
# - glucose < 70 mg/dL (level 1), < 54 mg/dL (level 2, urgent), > 250 mg/dL (ADA 2024,
#   international consensus on time in range, Battelino 2019)
# - heart rate > 120 or < 40 /min at rest; temperature >= 38.0 Cel; respiratory rate >= 25 /min
#   (NEWS2's red bands for a single parameter)
DEFAULT_THRESHOLDS: dict[Metric, Limits] = {
    Metric.BP_SYSTOLIC: Limits(high=180.0),
    Metric.BP_DIASTOLIC: Limits(high=120.0),
    Metric.SPO2: Limits(low=90.0),
    Metric.GLUCOSE: Limits(low=70.0, high=250.0),
    Metric.HEART_RATE: Limits(low=40.0, high=120.0),
    Metric.BODY_TEMPERATURE: Limits(high=38.0),
    Metric.RESPIRATORY_RATE: Limits(high=25.0),
}
COPD_SPO2 = Limits(low=88.0)
URGENT_GLUCOSE_LOW = 54.0
CGM_MAX_FALL = 5.0
"""mg/dL per minute: a CGM step down faster than this is not blood glucose (which seldom falls
faster than 3-4 mg/dL per minute) but a sensor artefact, most often a compression low (lying on
the sensor: a sudden drop of 30-50 mg/dL that comes back when the patient turns)."""


def sudden_glucose_fall(before: tuple[float, float], after: tuple[float, float]) -> bool:
    """Two (timestamp, mg/dL) CGM readings at most 15 minutes apart, the later one lower by
    more than :data:`CGM_MAX_FALL` allows."""
    gap = after[0] - before[0]
    return 0 < gap <= 900 and before[1] - after[1] > CGM_MAX_FALL * gap / 60


# Targets (what the patient aims for; trend detectors compare averages with them):
# home BP average < 135/85 (ESH 2023), glucose time in range 70-180 mg/dL, SpO2 88-92 in COPD.
HOME_BP_TARGET = (135.0, 85.0)
"""Home blood pressure average to stay under, systolic and diastolic (mmHg)."""
DEFAULT_TARGETS: dict[Metric, Limits] = {
    Metric.BP_SYSTOLIC: Limits(high=HOME_BP_TARGET[0]),
    Metric.BP_DIASTOLIC: Limits(high=HOME_BP_TARGET[1]),
    Metric.GLUCOSE: Limits(low=70.0, high=180.0),
    Metric.SPO2: Limits(low=92.0),
}
COPD_SPO2_TARGET = Limits(low=88.0, high=92.0)
TIME_IN_RANGE_GOAL = 0.70
"""Share of CGM time with glucose within the target range to aim for (international consensus
on time in range, Battelino 2019)."""
TIME_BELOW_LIMIT = 0.04
"""Share of CGM time below the range's low end to stay under (same consensus)."""
IN_TARGET_GOAL = 0.75
"""Share of a week's readings within target that the patient's feed praises, for metrics with
no consensus goal of their own (glucose has :data:`TIME_IN_RANGE_GOAL`)."""


TYPICAL_TOTAL_DAILY_INSULIN_U = 40.0
"""Units a day for an adult with type 1 diabetes (about 0.55 U/kg at 70 kg): what the insulin
settings' defaults are derived from when the care plan has none of the patient's own."""


@dataclass(frozen=True, slots=True)
class InsulinSettings:
    """The patient's bolus-calculator settings, as their pump or pen app holds them: what the
    insulin-on-board forecast (:class:`~vigil.streaming.insulin.InsulinForecast`) predicts by.

    The defaults are the "1800 rule" (sensitivity = 1800 / total daily dose, mg/dL per unit)
    and the "500 rule" (carb ratio = 500 / total daily dose, grams per unit) of insulin-pump
    practice (Walsh, *Pumping Insulin*) at a typical total daily dose; a care plan stores the
    patient's own (``{"sensitivity_mg_dl_per_u": 55, "carb_ratio_g_per_u": 9}``).

    >>> InsulinSettings()
    InsulinSettings(sensitivity_mg_dl_per_u=45.0, carb_ratio_g_per_u=12.5)
    >>> InsulinSettings.from_stored({"carb_ratio_g_per_u": 9}).carb_ratio_g_per_u
    9.0
    """

    sensitivity_mg_dl_per_u: float = 1800.0 / TYPICAL_TOTAL_DAILY_INSULIN_U
    carb_ratio_g_per_u: float = 500.0 / TYPICAL_TOTAL_DAILY_INSULIN_U
    SENSITIVITY_RANGE: ClassVar[tuple[float, float]] = (1.0, 500.0)
    """mg/dL per unit a care plan may set: beyond either end it is a typing error."""
    CARB_RATIO_RANGE: ClassVar[tuple[float, float]] = (1.0, 150.0)
    """Grams per unit a care plan may set."""

    def as_stored(self) -> dict[str, float]:
        return {
            "sensitivity_mg_dl_per_u": self.sensitivity_mg_dl_per_u,
            "carb_ratio_g_per_u": self.carb_ratio_g_per_u,
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> InsulinSettings:
        """``stored`` over the defaults, setting by setting (unset or null keeps the default)."""
        base = cls()
        doc = stored or {}
        isf, ratio = doc.get("sensitivity_mg_dl_per_u"), doc.get("carb_ratio_g_per_u")
        return cls(
            base.sensitivity_mg_dl_per_u if isf is None else float(isf),
            base.carb_ratio_g_per_u if ratio is None else float(ratio),
        )


def merged_limits(
    defaults: Mapping[Metric, Limits], stored: Mapping[str, Mapping[str, Any]] | None
) -> dict[Metric, Limits]:
    """``stored`` (``{"glucose": {"low": 75}}``) over ``defaults``, limit by limit: a stored
    limit replaces its default, an unset one (absent or null) keeps it."""
    merged = dict(defaults)
    for name, doc in (stored or {}).items():
        metric = Metric(name)
        base = merged.get(metric, Limits())
        low, high = doc.get("low"), doc.get("high")
        merged[metric] = Limits(
            base.low if low is None else float(low), base.high if high is None else float(high)
        )
    return merged


def as_stored(limits: Mapping[Metric, Limits]) -> dict[str, dict[str, float]]:
    """Limits as a care plan stores them (``{"spo2": {"low": 88.0}}``), unset ends left out."""
    return {
        m.value: {k: v for k, v in (("low", x.low), ("high", x.high)) if v is not None}
        for m, x in limits.items()
    }


@dataclass(frozen=True, slots=True)
class CarePlan:
    conditions: frozenset[str] = frozenset()
    thresholds: Mapping[Metric, Limits] = field(default_factory=dict)
    targets: Mapping[Metric, Limits] = field(default_factory=dict)
    hf_weight_gain_kg: float = 2.0
    """Heart failure: a gain of this much within ``hf_weight_days`` days alarms (HFSA/ESC)."""
    hf_weight_days: float = 3.0
    time_zone: tzinfo = UTC
    """Where the patient lives: the parts of their day (personal baselines by time of day)."""
    insulin: InsulinSettings = InsulinSettings()
    """Insulin sensitivity and carb ratio, for patients whose pump or pen uploads boluses."""

    @classmethod
    def default_for(cls, conditions: Iterable[str]) -> CarePlan:
        """The guidance defaults for the conditions (:class:`~vigil.core.conditions.Condition`);
        :class:`~vigil.core.conditions.UnknownCondition` for any other."""
        conditions = frozenset(c.value for c in parse_conditions(conditions))
        thresholds = dict(DEFAULT_THRESHOLDS)
        targets = dict(DEFAULT_TARGETS)
        if Condition.COPD in conditions:
            thresholds[Metric.SPO2] = COPD_SPO2
            targets[Metric.SPO2] = COPD_SPO2_TARGET
        return cls(frozenset(conditions), thresholds, targets)

    @classmethod
    def from_stored(
        cls,
        conditions: set[str] | frozenset[str],
        thresholds: Mapping[str, Mapping[str, Any]] | None,
        targets: Mapping[str, Mapping[str, Any]] | None,
        insulin: Mapping[str, Any] | None = None,
    ) -> CarePlan:
        """Defaults for the conditions, overridden limit by limit by the stored care plan
        (:func:`merged_limits`), and its insulin settings (:meth:`InsulinSettings.from_stored`).

        A stored condition outside the list (enrolled before it was closed) is left out, with a
        warning: detection goes on with the others."""
        known = {c.value for c in Condition}
        if unknown := sorted(set(conditions) - known):
            log.warning("unknown stored conditions %s left out of the care plan", unknown)
        base = cls.default_for(set(conditions) & known)
        return cls(
            base.conditions,
            merged_limits(base.thresholds, thresholds),
            merged_limits(base.targets, targets),
            insulin=InsulinSettings.from_stored(insulin),
        )

    def threshold(self, metric: Metric) -> Limits:
        return self.thresholds.get(metric, _NO_LIMITS)

    def target(self, metric: Metric) -> Limits:
        return self.targets.get(metric, _NO_LIMITS)

    @property
    def respiratory_or_cardiac(self) -> bool:
        return "copd" in self.conditions or "heart_failure" in self.conditions
