"""Glycaemic levels and what counts as an episode of them (international consensus on CGM
metrics, Battelino 2019 and 2023; ADA Standards of Care 2024).

- level 1 hypoglycaemia: below 70 mg/dL (the care plan's default low threshold);
- level 2 (urgent) hypoglycaemia: below 54 mg/dL
  (:data:`~vigil.clinical.careplan.URGENT_GLUCOSE_LOW`);
- hyperglycaemia alarm: above 250 mg/dL (the care plan's default high threshold);
- a CGM's floor: at or below 40 mg/dL it reads LOW (:data:`CGM_LOW_READING`), which is urgent at
  once whatever the trend;
- an **episode**: the glucose across the line for at least 15 minutes, ended once it has been
  back across it for 15 minutes (:func:`glucose_episodes`).

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 1, 5, 3, tzinfo=UTC)
>>> bg = [80, 66, 60, 58, 62, 68, 72, 75, 80, 85, 66, 90, 95, 99]  # every 5 minutes
>>> samples = [(t0 + timedelta(minutes=5 * i), v) for i, v in enumerate(bg)]
>>> [(s.strftime("%H:%M"), e.strftime("%H:%M"), low)
...  for s, e, low in glucose_episodes(samples, LEVEL_1_LOW, below=True)]
[('03:05', '03:30', 58.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from vigil.clinical.careplan import DEFAULT_THRESHOLDS, URGENT_GLUCOSE_LOW
from vigil.core.metrics import Metric

LEVEL_1_LOW: float = DEFAULT_THRESHOLDS[Metric.GLUCOSE].low or 70.0
"""mg/dL: level 1 hypoglycaemia below this."""
LEVEL_2_LOW: float = URGENT_GLUCOSE_LOW
"""mg/dL: level 2 (urgent) hypoglycaemia below this."""
HYPERGLYCAEMIA_ALARM: float = DEFAULT_THRESHOLDS[Metric.GLUCOSE].high or 250.0
"""mg/dL: an alarm above this."""
CGM_LOW_READING = 40.0
"""mg/dL: a CGM's floor; at or below it the sensor reads LOW."""
EPISODE_MIN_DURATION = timedelta(minutes=15)
"""An excursion across a line counts as an episode when it lasts this long, and ends once the
glucose has been back for this long (the consensus definition)."""


def glucose_episodes(
    samples: Sequence[tuple[datetime, float]],
    line: float,
    *,
    below: bool,
    min_duration: timedelta = EPISODE_MIN_DURATION,
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
