"""Trend detectors: a rule over a window of one patient's readings.

Memory is bounded: each keeps a :class:`Window` with a maximum length.
"""

from __future__ import annotations

from typing import ClassVar

from vigil.clinical.careplan import HOME_BP_TARGET
from vigil.clinical.findings import Finding, Severity
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, finding, fmt
from vigil.streaming.window import Window

DAY_S = 86_400.0


class WeightGain:
    """Heart failure: a gain of 2 kg or more within 3 days (the care plan can change both), the
    classic fluid-retention rule of HF self-care guidance (ESC 2021, HFSA).

    Fluid builds up over days; a jump of more than ``max_jump`` kg since the previous weighing
    (within 36 hours) is more likely winter clothes or a misplaced scale, so such a weighing is
    held until the next one confirms the gain without the jump."""

    name: ClassVar[str] = "hf_weight_gain"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.BODY_WEIGHT})
    learns: ClassVar[bool] = False
    __slots__ = ("max_jump", "points")

    def __init__(self, max_points: int = 16, max_jump: float = 1.2) -> None:
        self.max_jump = max_jump
        self.points: Window = Window(maxlen=max_points)

    def score_one(self, obs: Observation) -> Finding | None:
        if "heart_failure" not in obs.plan.conditions:
            return None
        gain_kg, days = obs.plan.hf_weight_gain_kg, obs.plan.hf_weight_days
        now = obs.epoch
        window = [(t, v) for t, v in self.points if 0 < now - t <= days * DAY_S + 6 * 3600]
        if not window:
            return None
        t_min, lowest = min(window, key=lambda p: p[1])
        gain = obs.value - lowest
        if gain < gain_kg:
            return None
        t_prev, prev = self.points[-1]
        if 0 < now - t_prev <= 1.5 * DAY_S and obs.value - prev > self.max_jump:
            return None
        span_days = max((now - t_min) / DAY_S, 1.0)
        return finding(
            obs,
            detector=self.name,
            cause="hf_decompensation",
            severity=Severity.HIGH,
            score=gain / gain_kg,
            sentence=f"Weight up {gain:.1f} kg in {span_days:.0f} days "
            f"({fmt(Metric.BODY_WEIGHT, lowest)} to {fmt(Metric.BODY_WEIGHT, obs.value)}), "
            f"above the {gain_kg:g} kg in {days:g} days heart-failure rule.",
            threshold=gain_kg,
            baseline=lowest,
            window_s=days * DAY_S,
            contributing=((obs.time, obs.value),),
        )

    def learn_one(self, obs: Observation) -> None:
        if not self.points or obs.epoch > self.points[-1][0]:
            self.points.append((obs.epoch, obs.value))


class HomeBPAverage:
    """Home BP averaged over the last 7 days above the target (135/85 mmHg by default, ESH
    2023), once there are at least 6 readings; evaluated on each new systolic reading.

    With hysteresis, so that an average hovering at the target does not open and close alerts
    day after day: it starts once the average is ``margin`` mmHg above the target and goes on
    until the average is ``margin`` below it. Readings at crisis level (the plan's thresholds,
    180/120) stay out of the average: the crisis has its own alert.

    A finding also needs the last day's readings (``recent_s``, this one included) to average
    above the target: a 7-day mean lags for days after the pressure is back to normal, and
    "above target" over readings that no longer are is noise to a care team."""

    name: ClassVar[str] = "bp_average"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC})
    learns: ClassVar[bool] = False
    window_days = 7.0
    min_readings = 6
    recent_s = DAY_S
    __slots__ = ("above", "dia", "margin", "sys")

    def __init__(self, max_points: int = 32, margin: float = 2.0) -> None:
        self.margin = margin
        self.sys: Window = Window(maxlen=max_points)
        self.dia: Window = Window(maxlen=max_points)
        self.above = False
        """Whether the last systolic reading found the average above target (hysteresis)."""

    def _over(self, obs: Observation) -> tuple[float, float, int, float, float] | None:
        """(systolic mean, diastolic mean, readings, targets) when over the target, else None."""
        now = obs.epoch
        sys_mean, n = self._mean(self.sys, now, obs.value)
        paired = obs.latest.get(Metric.BP_DIASTOLIC)
        dia_extra = paired[1] if paired is not None and paired[0] == obs.time else None
        if self.dia and self.dia[-1][0] >= now:
            dia_extra = None  # this instant's diastolic was learned already: count it once
        dia_mean, _ = self._mean(self.dia, now, dia_extra)
        # A bare CarePlan() (a patient unknown to the database) carries no targets.
        sys_target = obs.plan.target(Metric.BP_SYSTOLIC).high or HOME_BP_TARGET[0]
        dia_target = obs.plan.target(Metric.BP_DIASTOLIC).high or HOME_BP_TARGET[1]
        shift = -self.margin if self.above else self.margin
        if n < self.min_readings or (
            sys_mean <= sys_target + shift and dia_mean <= dia_target + shift
        ):
            return None
        return sys_mean, dia_mean, n, sys_target, dia_target

    def _mean(
        self, points: Window, now: float, extra: float | None, days: float | None = None
    ) -> tuple[float, int]:
        span = (self.window_days if days is None else days) * DAY_S
        values = [v for t, v in points if now - t < span]
        if extra is not None:
            values.append(extra)
        return (sum(values) / len(values) if values else 0.0), len(values)

    def _recent_over(self, obs: Observation, sys_target: float, dia_target: float) -> bool:
        """Whether the last day's readings, this one included, average above the target."""
        now, days = obs.epoch, self.recent_s / DAY_S
        sys_recent, _ = self._mean(self.sys, now, obs.value, days)
        paired = obs.latest.get(Metric.BP_DIASTOLIC)
        dia_extra = paired[1] if paired is not None and paired[0] == obs.time else None
        if self.dia and self.dia[-1][0] >= now:
            dia_extra = None
        dia_recent, m = self._mean(self.dia, now, dia_extra, days)
        return sys_recent > sys_target or (m > 0 and dia_recent > dia_target)

    def score_one(self, obs: Observation) -> Finding | None:
        if obs.metric is not Metric.BP_SYSTOLIC:
            return None
        over = self._over(obs)
        if over is None:
            return None
        sys_mean, dia_mean, n, sys_target, dia_target = over
        if not self._recent_over(obs, sys_target, dia_target):
            return None
        return finding(
            obs,
            detector=self.name,
            cause="bp_above_target",
            severity=Severity.WARNING,
            score=max(sys_mean / sys_target, dia_mean / dia_target),
            sentence=f"Home blood pressure averaged {sys_mean:.0f}/{dia_mean:.0f} mmHg over "
            f"the last 7 days ({n} readings), above the {sys_target:.0f}/{dia_target:.0f} mmHg "
            "target.",
            metrics=(Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC),
            value=sys_mean,
            threshold=sys_target,
            window_s=self.window_days * DAY_S,
            readings=n,
            diastolic=dia_mean,
            target_diastolic=dia_target,
        )

    def learn_one(self, obs: Observation) -> None:
        points = self.sys if obs.metric is Metric.BP_SYSTOLIC else self.dia
        crisis = obs.plan.threshold(obs.metric).high
        if crisis is not None and obs.value >= crisis:
            return  # a crisis is its own alert; it must not also raise the weekly average
        if not points or obs.epoch > points[-1][0]:
            if obs.metric is Metric.BP_SYSTOLIC:
                self.above = self._over(obs) is not None
            points.append((obs.epoch, obs.value))
