"""What the coaching module reads and writes: points, targets, feed items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Tone = Literal["good", "note", "neutral"]


@dataclass(frozen=True, slots=True)
class Point:
    """One stored reading, as the coaching module needs it."""

    time: datetime
    metric: str
    value: float


@dataclass(frozen=True, slots=True)
class Targets:
    """A patient's own targets; the defaults come from guidance.

    Home BP average under 135/85 mmHg (NICE NG136 / ESH home thresholds); glucose 70-180
    mg/dL with at least 70 % of the time in range and under 4 % below 70 (ADA/ATTD
    international consensus on time in range); a weight rise of 1 kg over a week is worth a
    word in heart failure (the alarm itself is the streaming stage's 2 kg in 3 days).
    """

    bp_systolic_high: float = 135.0
    bp_diastolic_high: float = 85.0
    glucose_low: float = 70.0
    glucose_high: float = 180.0
    time_in_range_goal: float = 0.70
    time_below_limit: float = 0.04
    weight_rise_kg: float = 1.0

    @classmethod
    def from_care_plan(cls, targets: dict[str, Any] | None) -> Targets:
        """The care plan's stored targets (``{"bp_systolic": {"high": 130}, ...}``) over the
        defaults; a limit the plan leaves unset keeps its default."""
        t, d = targets or {}, cls()

        def pick(metric: str, end: str, default: float) -> float:
            value = (t.get(metric) or {}).get(end)
            return float(value) if value is not None else default

        return cls(
            bp_systolic_high=pick("bp_systolic", "high", d.bp_systolic_high),
            bp_diastolic_high=pick("bp_diastolic", "high", d.bp_diastolic_high),
            glucose_low=pick("glucose", "low", d.glucose_low),
            glucose_high=pick("glucose", "high", d.glucose_high),
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
