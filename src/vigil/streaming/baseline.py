"""Personal-baseline detectors built on ``river.stats`` exponentially weighted statistics.

Each learns the patient's own normal and alarms on a departure from it. Scores are 0 during the
warm-up (``grace_period`` readings), and the engine never lets them learn from a reading that
raised an alarm, so an exacerbation does not become the new normal.

>>> from datetime import UTC, datetime, timedelta
>>> from vigil.streaming.careplan import CarePlan
>>> det, plan = SpO2Drop(grace_period=3), CarePlan.default_for({"copd"})
>>> t0 = datetime(2026, 1, 5, tzinfo=UTC)
>>> def obs(i, v):
...     t = t0 + timedelta(hours=12 * i)
...     return Observation("p", t, Metric.SPO2, v, "ox", t, plan, {Metric.SPO2: (t, v)})
>>> for i, v in enumerate([94, 95, 94, 95]):
...     assert det.score_one(obs(i, v)) is None
...     det.learn_one(obs(i, v))
>>> det.score_one(obs(4, 91)) is None   # 3 points down once: not yet
True
>>> det.learn_one(obs(4, 91))            # remembered, not learned
>>> print(det.score_one(obs(5, 90)).explanation.sentence)
SpO2 90%, 4.2 points below this patient's usual 94.2% (drop of 3 or more).
"""

from __future__ import annotations

from typing import ClassVar

from river import stats

from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, finding, fmt
from vigil.streaming.findings import Finding, Severity


class SpO2Drop:
    """COPD: SpO2 three or more points below the patient's own baseline (an exacerbation sign,
    GOLD 2024), on two readings in a row, or one reading five points down."""

    name: ClassVar[str] = "spo2_baseline"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.SPO2})
    learns: ClassVar[bool] = True

    def __init__(self, fading_factor: float = 0.1, grace_period: int = 6, drop: float = 3.0):
        self.fading_factor = fading_factor
        self.grace_period = grace_period
        self.drop = drop
        self.mean = stats.EWMean(fading_factor=fading_factor)
        self.seen = 0
        self.low_streak = 0

    def _departure(self, value: float) -> float:
        return float(self.mean.get()) - value if self.seen >= self.grace_period else 0.0

    def score_one(self, obs: Observation) -> Finding | None:
        if "copd" not in obs.plan.conditions:
            return None
        departure = self._departure(obs.value)
        confirmed = departure >= self.drop and (self.low_streak >= 1 or departure >= 5)
        if not confirmed:
            return None
        baseline = float(self.mean.get())
        return finding(
            obs,
            detector=self.name,
            cause="copd_exacerbation",
            severity=Severity.HIGH,
            score=departure / self.drop,
            sentence=f"SpO2 {fmt(Metric.SPO2, obs.value)}, {departure:.1f} points below this "
            f"patient's usual {baseline:.1f}% (drop of {self.drop:g} or more).",
            threshold=baseline - self.drop,
            baseline=baseline,
        )

    def learn_one(self, obs: Observation) -> None:
        """Learn normal readings; only remember (not learn) readings already below baseline."""
        if self._departure(obs.value) >= self.drop:
            self.low_streak += 1
            return
        self.low_streak = 0
        self.mean.update(obs.value)
        self.seen += 1


class WeightAboveBaseline:
    """Heart failure, personalised: morning weight 1.5 kg or more above the patient's slow
    exponentially weighted average, on two weighings in a row (one heavy weighing in winter
    clothes is not fluid)."""

    name: ClassVar[str] = "hf_weight_baseline"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.BODY_WEIGHT})
    learns: ClassVar[bool] = True

    def __init__(self, fading_factor: float = 0.15, grace_period: int = 5, excess: float = 1.5):
        self.fading_factor = fading_factor
        self.grace_period = grace_period
        self.excess = excess
        self.mean = stats.EWMean(fading_factor=fading_factor)
        self.seen = 0
        self.high_streak = 0

    def _excess(self, value: float) -> float:
        return value - float(self.mean.get()) if self.seen >= self.grace_period else 0.0

    def score_one(self, obs: Observation) -> Finding | None:
        if "heart_failure" not in obs.plan.conditions:
            return None
        excess = self._excess(obs.value)
        if excess < self.excess or self.high_streak < 1:
            return None
        baseline = float(self.mean.get())
        return finding(
            obs,
            detector=self.name,
            cause="hf_decompensation",
            severity=Severity.HIGH,
            score=excess / self.excess,
            sentence=f"Weight {fmt(Metric.BODY_WEIGHT, obs.value)}, {excess:.1f} kg above this "
            f"patient's usual {fmt(Metric.BODY_WEIGHT, baseline)} on two weighings in a row "
            f"(rule: {self.excess:g} kg).",
            threshold=baseline + self.excess,
            baseline=baseline,
        )

    def learn_one(self, obs: Observation) -> None:
        if self._excess(obs.value) >= self.excess * 0.66:
            self.high_streak += 1
            return
        self.high_streak = 0
        self.mean.update(obs.value)
        self.seen += 1
