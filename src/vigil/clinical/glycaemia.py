"""Glycaemia as the international consensus on CGM metrics reports it (Battelino et al.,
Diabetes Care 2019; 2023 update): the glucose ranges, their goals, the glucose management
indicator, variability, sensor wear and the length of a low.

The range limits are the care plan's own constants (one source): 54 is
:data:`~vigil.clinical.careplan.URGENT_GLUCOSE_LOW`, 70 and 180 the glucose target's default
ends, 250 the default high threshold.

>>> [r.key for r in GLUCOSE_RANGES]
['below_54', '54_69', '70_180', '181_250', 'above_250']
>>> round(gmi_percent(154.0), 2)
6.99
>>> [g.key for g in RANGE_GOALS if g.met({"70_180": 0.72, "54_69": 0.02, "below_54": 0.0,
...  "181_250": 0.18, "above_250": 0.06})]
['tir', 'tbr', 'tbr_54', 'tar']

A CGM's floor: at or below 40 mg/dL it reads LOW (:data:`CGM_LOW_READING`), urgent at once
whatever the trend. An **episode** is the glucose across a line for at least 15 minutes, ended
once it has been back across it for 15 minutes (:func:`glucose_episodes`):

>>> from datetime import UTC, datetime
>>> t0 = datetime(2026, 1, 5, 3, tzinfo=UTC)
>>> bg = [80, 66, 60, 58, 62, 68, 72, 75, 80, 85, 66, 90, 95, 99]  # every 5 minutes
>>> samples = [(t0 + timedelta(minutes=5 * i), v) for i, v in enumerate(bg)]
>>> [(s.strftime("%H:%M"), e.strftime("%H:%M"), low)
...  for s, e, low in glucose_episodes(samples, LEVEL_1_LOW, below=True)]
[('03:05', '03:30', 58.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.clinical.careplan import (
    DEFAULT_TARGETS,
    DEFAULT_THRESHOLDS,
    TIME_BELOW_LIMIT,
    TIME_IN_RANGE_GOAL,
    URGENT_GLUCOSE_LOW,
)
from vigil.core.metrics import Metric

LEVEL_2_LOW = URGENT_GLUCOSE_LOW
"""mg/dL: level 2 hypoglycaemia below it (54)."""
LEVEL_1_LOW = DEFAULT_TARGETS[Metric.GLUCOSE].low or 70.0
"""mg/dL: the range's low end; level 1 hypoglycaemia below it (70)."""
RANGE_HIGH = DEFAULT_TARGETS[Metric.GLUCOSE].high or 180.0
"""mg/dL: the range's high end (180)."""
LEVEL_2_HIGH = DEFAULT_THRESHOLDS[Metric.GLUCOSE].high or 250.0
"""mg/dL: level 2 hyperglycaemia above it (250), the alarm's default."""
CGM_LOW_READING = 40.0
"""mg/dL: a CGM's floor; at or below it the sensor reads LOW."""


@dataclass(frozen=True, slots=True)
class GlucoseRange:
    """From ``low`` to ``high`` in mg/dL (None: open), ``key`` as the reports name it; whether
    each end belongs to the range."""

    key: str
    low: float | None
    high: float | None
    includes_low: bool = True
    includes_high: bool = False

    def holds(self, value: float) -> bool:
        lo, hi = self.low, self.high
        above = lo is None or value > lo or (self.includes_low and value == lo)
        below = hi is None or value < hi or (self.includes_high and value == hi)
        return above and below


GLUCOSE_RANGES: tuple[GlucoseRange, ...] = (
    GlucoseRange("below_54", None, LEVEL_2_LOW),
    GlucoseRange("54_69", LEVEL_2_LOW, LEVEL_1_LOW),
    GlucoseRange("70_180", LEVEL_1_LOW, RANGE_HIGH, includes_high=True),
    GlucoseRange("181_250", RANGE_HIGH, LEVEL_2_HIGH, includes_low=False, includes_high=True),
    GlucoseRange("above_250", LEVEL_2_HIGH, None, includes_low=False),
)
"""The five ranges, bottom to top. 180 belongs to the range and 250 to 181-250, as the consensus
writes them (70-180, 181-250, > 250): a range's high end is included, its low end excluded,
except at the bottom (< 54, 54-69: 54 and 70 open the ranges above them)."""


def range_of(value: float) -> str:
    """The key of the range ``value`` (mg/dL) falls in.

    >>> [range_of(v) for v in (40, 54, 69.9, 70, 180, 180.5, 250, 251)]
    ['below_54', '54_69', '54_69', '70_180', '70_180', '181_250', '181_250', 'above_250']
    """
    return next(r.key for r in GLUCOSE_RANGES if r.holds(value))


@dataclass(frozen=True, slots=True)
class RangeGoal:
    """A consensus goal: the share of time in the ranges ``keys``, at least (``at_least``) or
    under ``share``."""

    key: str
    keys: tuple[str, ...]
    share: float
    at_least: bool

    def met(self, shares: Mapping[str, float]) -> bool:
        total = sum(shares.get(k, 0.0) for k in self.keys)
        return total >= self.share if self.at_least else total < self.share


RANGE_GOALS: tuple[RangeGoal, ...] = (
    RangeGoal("tir", ("70_180",), TIME_IN_RANGE_GOAL, at_least=True),
    RangeGoal("tbr", ("below_54", "54_69"), TIME_BELOW_LIMIT, at_least=False),
    RangeGoal("tbr_54", ("below_54",), 0.01, at_least=False),
    RangeGoal("tar", ("181_250", "above_250"), 0.25, at_least=False),
    RangeGoal("tar_250", ("above_250",), 0.05, at_least=False),
)
"""Most adults with type 1 or 2 diabetes: > 70 % in range, < 4 % below 70, < 1 % below 54,
< 25 % above 180, < 5 % above 250 (Battelino 2019, table 4)."""
CV_GOAL_PERCENT = 36.0
"""Glycaemic variability: coefficient of variation at or under 36 %."""
ACTIVE_GOAL_PERCENT = 70.0
"""Sensor wear: CGM active at least 70 % of the period (the consensus' 10 of 14 days)."""
REPORT_DAYS = 14
"""The period an AGP summarises by default (14 days: the consensus' minimum)."""
GMI_INTERCEPT = 3.31
GMI_SLOPE = 0.02392
"""GMI (%) = 3.31 + 0.02392 x mean glucose (mg/dL) (Bergenstal et al., Diabetes Care 2018)."""
READING_SPAN_CAP = timedelta(minutes=15)
"""The longest a CGM reading stands for: the time to the next reading, capped here, so a gap in
wear counts as no time rather than as the last value held (a 5-minute sensor's reading stands
for 5 minutes, a 1-minute sensor's for 1)."""
LOW_EPISODE_MIN = timedelta(minutes=15)
"""An excursion across a line (a low, above all) counts as an episode when it lasts at least 15
minutes, and ends once the glucose has been back for as long (2023 update)."""


def gmi_percent(mean_mg_dl: float) -> float:
    return GMI_INTERCEPT + GMI_SLOPE * mean_mg_dl


def glucose_episodes(
    samples: Sequence[tuple[datetime, float]],
    line: float,
    *,
    below: bool,
    min_duration: timedelta = LOW_EPISODE_MIN,
) -> list[tuple[datetime, datetime, float]]:
    """(start, end, extreme) of each episode in time-ordered (time, mg/dL) samples: from the
    first sample across ``line`` to the first sample of a stretch of ``min_duration`` back
    across it (or the last sample), kept if it lasted ``min_duration``."""

    def across(v: float) -> bool:
        return v < line if below else v > line

    out: list[tuple[datetime, datetime, float]] = []
    start: datetime | None = None
    back_since: datetime | None = None
    extreme = 0.0
    for t, v in samples:
        if start is None:
            if across(v):
                start, back_since, extreme = t, None, v
            continue
        if across(v):
            back_since = None
            extreme = min(extreme, v) if below else max(extreme, v)
            continue
        back_since = back_since or t
        if t - back_since >= min_duration:
            if back_since - start >= min_duration:
                out.append((start, back_since, float(extreme)))
            start = back_since = None
    if start is not None and samples:
        end = back_since or samples[-1][0]
        if end - start >= min_duration:
            out.append((start, end, float(extreme)))
    return out
