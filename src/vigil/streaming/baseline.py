"""Personal-baseline detectors on exponentially weighted means (``river.stats.EWMean``'s
arithmetic, kept as one float in a slot: :func:`ew_mean`).

Each learns the patient's own normal and alarms on a departure from it. Scores are 0 during the
warm-up (``grace_period`` readings), and the engine never lets them learn from a reading that
raised an alarm, so an exacerbation does not become the new normal.

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import uuid4
>>> from vigil.clinical.careplan import CarePlan
>>> det, plan = SpO2Drop(grace_period=3), CarePlan.default_for({"copd"})
>>> t0, patient = datetime(2026, 1, 5, tzinfo=UTC), uuid4()
>>> def obs(i, v):
...     t = t0 + timedelta(hours=12 * i)
...     return Observation(patient, t, Metric.SPO2, v, "ox", t, plan, {Metric.SPO2: (t, v)})
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

import math
from typing import ClassVar

from vigil.clinical.careplan import DEFAULT_THRESHOLDS
from vigil.clinical.findings import Finding, Severity
from vigil.clinical.personal import (
    RESTING_HR_ABOVE_USUAL,
    RESTING_HR_FLOOR,
    RESTING_HR_PERSIST_S,
    TEMPERATURE_ABOVE_USUAL,
    TEMPERATURE_FLOOR,
)
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, finding, fmt
from vigil.streaming.usual import ALL_DAY, Usual, moving
from vigil.streaming.window import Window

DAY_S = 86_400.0


def ew_mean(mean: float, seen: int, value: float, fading_factor: float) -> float:
    """``river.stats.EWMean`` after one more value: the first value itself, then
    ``a * value + (1 - a) * mean`` (the same float to the last bit)."""
    return value if seen == 0 else fading_factor * value + (1 - fading_factor) * mean


class SpO2Drop:
    """COPD: SpO2 three or more points below the patient's own baseline (an exacerbation sign,
    GOLD 2024), on two readings in a row: a single very low reading is usually a misworn probe,
    and a truly low one is already the threshold detector's (``SpO2Low``) alarm."""

    name: ClassVar[str] = "spo2_baseline"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.SPO2})
    learns: ClassVar[bool] = True
    __slots__ = ("drop", "fading_factor", "grace_period", "low_streak", "mean", "seen")

    def __init__(self, fading_factor: float = 0.1, grace_period: int = 6, drop: float = 3.0):
        self.fading_factor = fading_factor
        self.grace_period = grace_period
        self.drop = drop
        self.mean = 0.0
        self.seen = 0
        self.low_streak = 0

    def _departure(self, value: float) -> float:
        return self.mean - value if self.seen >= self.grace_period else 0.0

    def score_one(self, obs: Observation) -> Finding | None:
        if "copd" not in obs.plan.conditions:
            return None
        departure = self._departure(obs.value)
        confirmed = departure >= self.drop and self.low_streak >= 1
        if not confirmed:
            return None
        baseline = self.mean
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
        self.mean = ew_mean(self.mean, self.seen, obs.value, self.fading_factor)
        self.seen += 1


class WeightAboveBaseline:
    """Heart failure, personalised: a weighing ``excess`` kg (1.5) or more above the patient's
    usual weight, with the previous weighing (within 36 hours) at least ``confirm`` of that
    above it too (so one heavy weighing in winter clothes is not fluid).

    The usual weight is an exponentially weighted mean (:func:`ew_mean`) of weighings
    older than ``lag`` days: a slow gain over a week cannot drag the baseline up with it, which
    a mean fed every day would do. Weighings that were themselves ``excess`` above it never
    enter the baseline. Silent during the warm-up (``grace_period`` weighings in the baseline).
    """

    name: ClassVar[str] = "hf_weight_baseline"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.BODY_WEIGHT})
    learns: ClassVar[bool] = False  # it keeps alarming weighings out of its baseline itself
    __slots__ = (
        "confirm",
        "confirm_within_days",
        "excess",
        "fading_factor",
        "grace_period",
        "lag_days",
        "mean",
        "pending",
        "seen",
    )

    def __init__(
        self,
        fading_factor: float = 0.1,
        grace_period: int = 5,
        excess: float = 1.5,
        lag_days: float = 4.0,
        confirm: float = 0.66,
        confirm_within_days: float = 1.5,
        max_points: int = 16,
    ) -> None:
        self.fading_factor = fading_factor
        self.grace_period = grace_period
        self.excess = excess
        self.lag_days = lag_days
        self.confirm = confirm
        self.confirm_within_days = confirm_within_days
        self.mean = 0.0
        self.seen = 0
        self.pending: Window = Window(maxlen=max_points)
        """Weighings not yet old enough for the baseline: (timestamp, kg)."""

    def usual(self) -> float | None:
        """The usual weight a weighing now is compared against (kg); None in the warm-up. The
        rule's limit is this plus ``excess``."""
        return self.mean if self.seen >= self.grace_period else None

    def score_one(self, obs: Observation) -> Finding | None:
        baseline = self.usual()
        if "heart_failure" not in obs.plan.conditions or baseline is None:
            return None
        excess = obs.value - baseline
        now = obs.epoch
        previous = self.pending[-1] if self.pending else None
        if (
            excess < self.excess
            or previous is None
            or not 0 < now - previous[0] <= self.confirm_within_days * DAY_S
            or previous[1] - baseline < self.confirm * self.excess
        ):
            return None
        return finding(
            obs,
            detector=self.name,
            cause="hf_decompensation",
            severity=Severity.HIGH,
            score=excess / self.excess,
            sentence=f"Weight {fmt(Metric.BODY_WEIGHT, obs.value)}, {excess:.1f} kg above this "
            f"patient's usual {fmt(Metric.BODY_WEIGHT, baseline)}, and the previous weighing "
            f"({fmt(Metric.BODY_WEIGHT, previous[1])}) was up too (rule: {self.excess:g} kg).",
            threshold=baseline + self.excess,
            baseline=baseline,
            contributing=((obs.time, obs.value),),
            previous_kg=previous[1],
        )

    def learn_one(self, obs: Observation) -> None:
        now = obs.epoch
        if self.pending and now <= self.pending[-1][0]:
            return  # late or repeated: state only moves forward
        while self.pending and (
            now - self.pending[0][0] > self.lag_days * DAY_S
            or len(self.pending) == self.pending.maxlen
        ):
            _, value = self.pending.popleft()
            if self.seen >= self.grace_period and value - self.mean >= self.excess:
                continue  # alarming: not the new normal
            self.mean = ew_mean(self.mean, self.seen, value, self.fading_factor)
            self.seen += 1
        self.pending.append((now, obs.value))


class RestingHeartRateAboveUsual:
    """A resting heart rate well above the patient's own usual rate at that part of the day
    (:data:`~vigil.clinical.personal.RESTING_HR_ABOVE_USUAL` over it and at least
    :data:`~vigil.clinical.personal.RESTING_HR_FLOOR`), lasting
    :data:`~vigil.clinical.personal.RESTING_HR_PERSIST_S`: readings with none below that
    between them, at most ``max_gap_s`` apart. A patient usually at 60 who stays at 110 at rest
    is told; the population rule (over 120) would not. Readings while the patient moves (a
    wearable's steps, :func:`~vigil.streaming.usual.moving`) neither alarm nor count. The usual
    rate is the engine's personal baseline (:class:`~vigil.streaming.usual.PersonalBaselines`,
    in ``obs.usual``), which learns no reading taken while moving; until it knows the patient's
    rate, nothing is said. Its finding is a ``tachycardia``: one episode with the population
    rule's."""

    name: ClassVar[str] = "resting_heart_rate"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.HEART_RATE})
    learns: ClassVar[bool] = False  # it remembers the current run; the baseline is the engine's
    __slots__ = ("max_gap_s", "run_last", "run_start")

    def __init__(self, max_gap_s: float = 6 * 3600.0) -> None:
        self.max_gap_s = max_gap_s
        self.run_start = math.nan
        self.run_last = math.nan

    @staticmethod
    def _raised(obs: Observation) -> tuple[Usual, float] | None:
        """(the usual rate, the limit) when the reading is raised at rest."""
        if obs.value < RESTING_HR_FLOOR or obs.usual is None or moving(obs):
            return None  # most readings: below the floor, nothing to look up
        usual = obs.usual.usual(Metric.HEART_RATE, obs.time, obs.plan.time_zone)
        if usual is None:
            return None
        limit = max(RESTING_HR_FLOOR, usual.mean + RESTING_HR_ABOVE_USUAL)
        return (usual, limit) if obs.value >= limit else None

    def _start(self, now: float) -> float:
        if 0 < now - self.run_last <= self.max_gap_s:
            return self.run_start
        return now

    def score_one(self, obs: Observation) -> Finding | None:
        raised = self._raised(obs)
        if raised is None:
            return None
        usual, limit = raised
        now = obs.epoch
        lasted = now - self._start(now)
        if lasted < RESTING_HR_PERSIST_S:
            return None
        delta = obs.value - usual.mean
        when = _when(usual.part)
        return finding(
            obs,
            detector=self.name,
            cause="tachycardia",
            severity=Severity.HIGH,
            score=obs.value / limit,
            sentence=f"Heart rate {fmt(Metric.HEART_RATE, obs.value)} at rest for "
            f"{lasted / 60:.0f} minutes, {delta:.0f}/min above this patient's usual "
            f"{fmt(Metric.HEART_RATE, usual.mean)}{when} (rule: {RESTING_HR_ABOVE_USUAL:g}/min "
            f"above the usual and at least {RESTING_HR_FLOOR:g}/min).",
            threshold=limit,
            baseline=usual.mean,
            lasted_s=lasted,
            part=usual.part,
        )

    def learn_one(self, obs: Observation) -> None:
        now = obs.epoch
        if now <= self.run_last:
            return  # late or repeated: the run only moves forward
        if self._raised(obs) is None:
            self.run_start = self.run_last = math.nan
        else:
            self.run_start, self.run_last = self._start(now), now


class TemperatureAboveUsual:
    """A temperature :data:`~vigil.clinical.personal.TEMPERATURE_ABOVE_USUAL` (1.1 °C) or more
    above the patient's own usual and at least
    :data:`~vigil.clinical.personal.TEMPERATURE_FLOOR` (37.2 °C), below the fever threshold
    (38.0 °C, the ``Fever`` rule's): an older patient who usually runs at 36.2 °C is feverish at
    37.4 °C (IDSA 2008, fever in long-term care). A ``fever`` finding (warning); no state of its
    own: the usual temperature is the engine's personal baseline (``obs.usual``)."""

    name: ClassVar[str] = "temperature_baseline"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.BODY_TEMPERATURE})
    learns: ClassVar[bool] = False

    def score_one(self, obs: Observation) -> Finding | None:
        if obs.value < TEMPERATURE_FLOOR or obs.usual is None:
            return None
        usual = obs.usual.usual(Metric.BODY_TEMPERATURE, obs.time, obs.plan.time_zone)
        if usual is None:
            return None
        fever = (
            obs.plan.threshold(Metric.BODY_TEMPERATURE).high
            or DEFAULT_THRESHOLDS[Metric.BODY_TEMPERATURE].high
            or math.inf
        )
        limit = max(TEMPERATURE_FLOOR, usual.mean + TEMPERATURE_ABOVE_USUAL)
        if not limit <= obs.value < fever:
            return None
        t = Metric.BODY_TEMPERATURE
        return finding(
            obs,
            detector=self.name,
            cause="fever",
            severity=Severity.WARNING,
            score=obs.value / limit,
            sentence=f"Temperature {fmt(t, obs.value)}, {obs.value - usual.mean:.1f}°C above "
            f"this patient's usual {fmt(t, usual.mean)} (rule: {TEMPERATURE_ABOVE_USUAL:g}°C "
            f"above the usual and at least {TEMPERATURE_FLOOR:g}°C).",
            threshold=limit,
            baseline=usual.mean,
        )

    def learn_one(self, obs: Observation) -> None:
        return None


def _when(part: str) -> str:
    if part == ALL_DAY:
        return ""
    return " at night" if part == "night" else f" in the {part}"
