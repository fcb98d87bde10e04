"""A NEWS2-style aggregate of the latest home vital signs, for COPD and heart-failure patients.

NEWS2 (Royal College of Physicians, 2017) scores respiratory rate, SpO2 (scale 2 for patients
with hypercapnic respiratory failure, i.e. our COPD patients with a 88-92 % target), systolic BP,
pulse, consciousness and temperature. Adapted for home monitoring: consciousness and
supplemental oxygen are not measured at home and score 0; each parameter is the patient's
latest reading within 24 hours; at least three parameters must be present; the hospital's
trigger levels are kept (aggregate 5-6: urgent review, HIGH; 7 or more: emergency, CRITICAL).

>>> rr = score_parameter(Metric.RESPIRATORY_RATE, 24, copd=True)
>>> rr, score_parameter(Metric.SPO2, 86, copd=True), score_parameter(Metric.SPO2, 86, copd=False)
(2, 1, 3)
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from vigil.clinical.findings import Finding, Severity
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, finding

Bands = tuple[tuple[float, int], ...]
"""(upper bound inclusive, points), in increasing order; the last bound is infinity."""
INF = float("inf")
_BANDS: dict[Metric, Bands] = {
    Metric.RESPIRATORY_RATE: ((8, 3), (11, 1), (20, 0), (24, 2), (INF, 3)),
    Metric.BP_SYSTOLIC: ((90, 3), (100, 2), (110, 1), (219, 0), (INF, 3)),
    Metric.HEART_RATE: ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (INF, 3)),
    Metric.BODY_TEMPERATURE: ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (INF, 2)),
}
_SPO2_SCALE1: Bands = ((91, 3), (93, 2), (95, 1), (INF, 0))
_SPO2_SCALE2: Bands = ((83, 3), (85, 2), (87, 1), (INF, 0))
PARAMETERS = (*_BANDS, Metric.SPO2)
FRESH = timedelta(hours=24)


def score_parameter(metric: Metric, value: float, *, copd: bool) -> int:
    bands = (_SPO2_SCALE2 if copd else _SPO2_SCALE1) if metric is Metric.SPO2 else _BANDS[metric]
    value = round(value, 1)
    for upper, points in bands:
        if value <= upper:
            return points
    return 0


class News2:
    name: ClassVar[str] = "news2"
    metrics: ClassVar[frozenset[Metric]] = frozenset(PARAMETERS)
    learns: ClassVar[bool] = False
    min_parameters = 3

    def score_one(self, obs: Observation) -> Finding | None:
        plan = obs.plan
        if not plan.respiratory_or_cardiac:
            return None
        copd = "copd" in plan.conditions
        time, latest_of = obs.time, obs.latest
        since = time - FRESH
        scored: list[tuple[Metric, float, int]] = []
        total = 0
        for metric in PARAMETERS:
            latest = latest_of.get(metric)
            if latest is None or latest[0] < since or latest[0] > time:
                continue
            points = score_parameter(metric, latest[1], copd=copd)
            scored.append((metric, latest[1], points))
            total += points
        if len(scored) < self.min_parameters or total < 5:
            return None  # most readings: nothing formatted
        parts = {metric: (value, points) for metric, value, points in scored}
        listed = ", ".join(
            f"{m.value.replace('_', ' ')} {v:g} ({p})" for m, (v, p) in parts.items() if p
        )
        return finding(
            obs,
            detector=self.name,
            cause="news2",
            severity=Severity.CRITICAL if total >= 7 else Severity.HIGH,
            score=total / 5,
            sentence=f"Early-warning score {total} from the latest home vital signs ({listed}), "
            f"at or above the urgent-review level of 5.",
            metrics=tuple(parts),
            value=total,
            threshold=5,
            contributing=tuple((obs.time, float(p)) for _, p in parts.values()),
            parameters={m.value: {"value": v, "points": p} for m, (v, p) in parts.items()},
        )

    def learn_one(self, obs: Observation) -> None:
        return None
