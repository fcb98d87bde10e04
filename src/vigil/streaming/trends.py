"""Trend detectors: a rule over a window of one patient's readings.

Memory is bounded: each keeps a :class:`Window` with a maximum length.
"""

from __future__ import annotations

from itertools import pairwise
from typing import ClassVar

from vigil.clinical.careplan import HOME_BP_TARGET, URGENT_GLUCOSE_LOW, sudden_glucose_fall
from vigil.clinical.findings import Finding, Severity
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, finding, fmt
from vigil.streaming.insulin import InsulinForecast
from vigil.streaming.window import Window, slope

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

    def __init__(self, max_points: int = 16, max_jump: float = 1.2) -> None:
        self.max_jump = max_jump
        self.points: Window = Window(maxlen=max_points)

    def score_one(self, obs: Observation) -> Finding | None:
        if "heart_failure" not in obs.plan.conditions:
            return None
        gain_kg, days = obs.plan.hf_weight_gain_kg, obs.plan.hf_weight_days
        now = obs.time.timestamp()
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
        if not self.points or obs.time.timestamp() > self.points[-1][0]:
            self.points.append((obs.time.timestamp(), obs.value))


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

    def __init__(self, max_points: int = 32, margin: float = 2.0) -> None:
        self.margin = margin
        self.sys: Window = Window(maxlen=max_points)
        self.dia: Window = Window(maxlen=max_points)
        self.above = False
        """Whether the last systolic reading found the average above target (hysteresis)."""

    def _over(self, obs: Observation) -> tuple[float, float, int, float, float] | None:
        """(systolic mean, diastolic mean, readings, targets) when over the target, else None."""
        now = obs.time.timestamp()
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
        now, days = obs.time.timestamp(), self.recent_s / DAY_S
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
        if not points or obs.time.timestamp() > points[-1][0]:
            if obs.metric is Metric.BP_SYSTOLIC:
                self.above = self._over(obs) is not None
            points.append((obs.time.timestamp(), obs.value))


class PredictedLow:
    """CGM, **urgent low soon**: the blood glucose predicted below 54 mg/dL (level 2) within
    the next 20 minutes, while the sensor reads at most ``approach`` (15) mg/dL above the
    patient's low threshold (70, so 85 by default).

    The prediction is the 'urgent low soon' of CGM systems (a straight line through the last 20
    minutes) with the sensor's lag added: interstitial glucose, which the sensor reads, follows
    the blood by about ``lag_s`` (10 minutes), so while it falls the blood is already about
    10 minutes further down the line: the line must reach 54 within 20 + 10 minutes. The fall
    must go on: the line through the last ``recent_s`` (10 minutes) reaches it too, so a fall
    that levels off is not called a coming low. Higher up the line is not trusted: falls from
    the 100s and 120s after a meal mostly level off in the 80s and 90s, and a prediction from
    there was a false alarm more often than an early one (docs/detectors.md).

    A step down faster than 5 mg/dL per minute between two readings
    (:func:`~vigil.clinical.careplan.sudden_glucose_fall`) is a sensor artefact, most often a
    compression low, whose sudden drop a straight line would read as a steep fall: a window
    holding such a step predicts nothing (a low that is real stays the range detector's).

    >>> from datetime import UTC, datetime, timedelta
    >>> from vigil.clinical.careplan import CarePlan
    >>> t0, plan = datetime(2026, 1, 5, 17, tzinfo=UTC), CarePlan.default_for({"t1d"})
    >>> def at(i, v):
    ...     t = t0 + timedelta(minutes=5 * i)
    ...     return Observation("p1", t, Metric.GLUCOSE, v, "cgm-1", t, plan, {})
    >>> det = PredictedLow()
    >>> for i, v in enumerate([97, 92, 86]):
    ...     det.learn_one(at(i, v))
    >>> found = det.score_one(at(3, 80))
    >>> print(found.explanation.sentence)  # doctest: +NORMALIZE_WHITESPACE
    Glucose 80 mg/dL and falling 1.1 mg/dL per minute: the blood glucose, about 10 minutes
    ahead of the sensor, is predicted below 54 mg/dL (urgent low) within 20 minutes.
    >>> found.explanation.details["predicted_mg_dl"], found.explanation.details["lag_min"]
    (46, 10.0)

    **From insulin on board.** For a patient whose pump or pen uploads its boluses (``insulin``)
    and entered carbohydrate (``carbs``), the glucose is also predicted from them
    (:class:`~vigil.streaming.insulin.InsulinForecast`, with the care plan's insulin
    sensitivity and carb ratio) over ``insulin_horizon_s`` (40 minutes), from the CGM's value
    moved ``lag_s`` along its line while it falls. The forecast is trusted only while the CGM
    agrees: not rising faster than ``rising`` (0.5 mg/dL per minute), no sudden step in the
    window. A bolus taken twice over a flat CGM:

    >>> det = PredictedLow()
    >>> def pump(i, metric, v):
    ...     t = t0 + timedelta(minutes=5 * i)
    ...     return Observation("p1", t, metric, v, "pump-1", t, plan, {})
    >>> det.learn_one(pump(0, Metric.INSULIN, 5.0))
    >>> det.learn_one(pump(0, Metric.CARBS, 60.0))
    >>> det.learn_one(pump(1, Metric.INSULIN, 5.0))
    >>> for i, v in enumerate([108, 107, 106, 106]):
    ...     det.learn_one(at(8 + i, v))
    >>> print(det.score_one(at(12, 105)).explanation.sentence)  # doctest: +NORMALIZE_WHITESPACE
    Glucose 105 mg/dL, 7.9 U of insulin on board and 40 g of carbohydrate still to absorb:
    predicted below 54 mg/dL (urgent low) within 40 minutes.
    """

    name: ClassVar[str] = "glucose_predicted_low"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.GLUCOSE, Metric.INSULIN, Metric.CARBS})
    learns: ClassVar[bool] = False
    horizon_s = 20 * 60.0
    lag_s = 10 * 60.0
    lookback_s = 20 * 60.0
    recent_s = 10 * 60.0
    level = URGENT_GLUCOSE_LOW
    approach = 15.0
    insulin_horizon_s = 40 * 60.0
    rising = 0.5
    """mg/dL per minute: a CGM rising faster than this disagrees with a forecast of a low."""

    def __init__(self) -> None:
        self.points: Window = Window(maxlen=6)
        self.forecast = InsulinForecast()

    def score_one(self, obs: Observation) -> Finding | None:
        if obs.metric is not Metric.GLUCOSE:
            return None
        now = obs.time.timestamp()
        pts = [(t, v) for t, v in self.points if 0 < now - t <= self.lookback_s]
        found = self._from_line(obs, pts)
        if found is None and self.forecast.active(now):
            found = self._from_insulin(obs, pts)
        return found

    def _from_line(self, obs: Observation, pts: list[tuple[float, float]]) -> Finding | None:
        """The CGM's line alone (every CGM patient)."""
        now = obs.time.timestamp()
        ceiling = (obs.plan.threshold(Metric.GLUCOSE).low or 70.0) + self.approach
        if len(pts) < 2 or obs.value < self.level or obs.value > ceiling:
            return None
        pts.append((now, obs.value))
        if any(sudden_glucose_fall(a, b) for a, b in pairwise(pts)):
            return None  # a sudden step: an artefact, not a fall
        fall = slope(pts)  # mg/dL per second
        recent = slope([(t, v) for t, v in pts if now - t <= self.recent_s])
        ahead = self.horizon_s + self.lag_s
        if fall is None or recent is None or fall >= 0:
            return None
        predicted = obs.value + fall * ahead
        if predicted > self.level or obs.value + recent * ahead > self.level:
            return None  # not that low that soon, or the fall is levelling off
        rate = fall * 60
        return finding(
            obs,
            detector=self.name,
            cause="predicted_low",
            severity=Severity.HIGH,
            score=self.level / max(predicted, 1.0),
            sentence=f"Glucose {fmt(Metric.GLUCOSE, obs.value)} and falling {abs(rate):.1f} "
            f"mg/dL per minute: the blood glucose, about {self.lag_s / 60:.0f} minutes ahead of "
            f"the sensor, is predicted below {self.level:.0f} mg/dL (urgent low) within "
            f"{self.horizon_s / 60:.0f} minutes.",
            threshold=self.level,
            window_s=self.lookback_s,
            contributing=tuple((obs.time.fromtimestamp(t, obs.time.tzinfo), v) for t, v in pts),
            rate_mg_dl_per_min=round(rate, 2),
            predicted_mg_dl=round(predicted),
            horizon_min=self.horizon_s / 60,
            lag_min=self.lag_s / 60,
        )

    def _from_insulin(self, obs: Observation, pts: list[tuple[float, float]]) -> Finding | None:
        """The pump's boluses and carbohydrate, with the CGM agreeing in direction."""
        now = obs.time.timestamp()
        if len(pts) < 2 or obs.value < self.level:
            return None
        pts = [*pts, (now, obs.value)]
        if any(sudden_glucose_fall(a, b) for a, b in pairwise(pts)):
            return None
        trend = slope(pts)
        if trend is None or trend * 60 > self.rising:
            return None
        glucose = obs.value + min(trend, 0.0) * self.lag_s
        forecast = self.forecast.predict(
            now,
            glucose,
            obs.plan.insulin,
            horizon_min=self.insulin_horizon_s / 60,
            level=self.level,
        )
        if forecast.below_at_min is None:
            return None
        carbs = forecast.carbs_on_board_g
        still = f" and {carbs:.0f} g of carbohydrate still to absorb" if carbs >= 1 else ""
        return finding(
            obs,
            detector=self.name,
            cause="predicted_low",
            severity=Severity.HIGH,
            score=self.level / max(forecast.lowest_mg_dl, 1.0),
            sentence=f"Glucose {fmt(Metric.GLUCOSE, obs.value)}, "
            f"{forecast.insulin_on_board_u:.1f} U of insulin on board{still}: predicted below "
            f"{self.level:.0f} mg/dL (urgent low) within {forecast.below_at_min:.0f} minutes.",
            metrics=(Metric.GLUCOSE,),
            threshold=self.level,
            window_s=self.insulin_horizon_s,
            contributing=tuple((obs.time.fromtimestamp(t, obs.time.tzinfo), v) for t, v in pts),
            basis="insulin_on_board",
            below_at_min=forecast.below_at_min,
            rate_mg_dl_per_min=round(trend * 60, 2),
            predicted_mg_dl=round(forecast.lowest_mg_dl),
            insulin_on_board_u=round(forecast.insulin_on_board_u, 2),
            carbs_on_board_g=round(carbs),
            horizon_min=self.insulin_horizon_s / 60,
            lag_min=self.lag_s / 60,
            sensitivity_mg_dl_per_u=obs.plan.insulin.sensitivity_mg_dl_per_u,
            carb_ratio_g_per_u=obs.plan.insulin.carb_ratio_g_per_u,
        )

    def learn_one(self, obs: Observation) -> None:
        t = obs.time.timestamp()
        if obs.metric is Metric.INSULIN:
            self.forecast.add_insulin(t, obs.value)
        elif obs.metric is Metric.CARBS:
            self.forecast.add_carbs(t, obs.value)
        elif not self.points or t > self.points[-1][0]:
            self.points.append((t, obs.value))
