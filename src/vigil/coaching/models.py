"""What the coaching module reads and writes: points, targets, feed items."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from vigil.clinical.careplan import (
    DEFAULT_TARGETS,
    TIME_BELOW_LIMIT,
    TIME_IN_RANGE_GOAL,
    CarePlan,
    Limits,
)
from vigil.core.metrics import Metric

Tone = Literal["good", "note", "neutral"]


@dataclass(frozen=True, slots=True)
class Point:
    """One stored reading, as the coaching module needs it."""

    time: datetime
    metric: str
    value: float


def _end(limits: Limits, side: str) -> float:
    """One end of a target that every plan carries (the guidance defaults set it, and a stored
    plan can only replace it: :func:`vigil.clinical.careplan.merged_limits`)."""
    value = getattr(limits, side)
    if value is None:
        raise ValueError(f"no {side} end in target {limits}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Targets:
    """What the feed and triage compare a patient's week with: their care plan's targets
    (:meth:`from_care_plan`: the one merge of stored targets over the guidance defaults,
    :mod:`vigil.clinical.careplan`) and the time-in-range goals from the same module.

    A weight rise of 1 kg over a week is worth a word in heart failure (coaching's own line; the
    alarm itself is the streaming stage's 2 kg in 3 days).
    """

    bp_systolic_high: float = _end(DEFAULT_TARGETS[Metric.BP_SYSTOLIC], "high")
    bp_diastolic_high: float = _end(DEFAULT_TARGETS[Metric.BP_DIASTOLIC], "high")
    glucose_low: float = _end(DEFAULT_TARGETS[Metric.GLUCOSE], "low")
    glucose_high: float = _end(DEFAULT_TARGETS[Metric.GLUCOSE], "high")
    time_in_range_goal: float = TIME_IN_RANGE_GOAL
    time_below_limit: float = TIME_BELOW_LIMIT
    weight_rise_kg: float = 1.0

    @classmethod
    def from_care_plan(
        cls, targets: Mapping[str, Mapping[str, Any]] | None, conditions: Iterable[str] = ()
    ) -> Targets:
        """The care plan's stored targets (``{"bp_systolic": {"high": 130}, ...}``) over the
        defaults for the conditions, as the detectors merge them (:meth:`CarePlan.from_stored`)."""
        return cls.from_plan(CarePlan.from_stored(set(conditions), None, targets))

    @classmethod
    def from_plan(cls, plan: CarePlan) -> Targets:
        return cls(
            bp_systolic_high=_end(plan.target(Metric.BP_SYSTOLIC), "high"),
            bp_diastolic_high=_end(plan.target(Metric.BP_DIASTOLIC), "high"),
            glucose_low=_end(plan.target(Metric.GLUCOSE), "low"),
            glucose_high=_end(plan.target(Metric.GLUCOSE), "high"),
        )


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One card of the patient's feed, in plain words.

    ``key`` is unique per patient and says what the item is about and when (``bp_week:
    2026-W48``, ``reminder:body_weight:2026-11-28``), so regenerating rewrites it.
    """

    key: str
    kind: str
    time: datetime
    title: str
    body: str
    tone: Tone = "neutral"
    data: dict[str, Any] = field(default_factory=dict)
