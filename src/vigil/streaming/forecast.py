"""CGM, **urgent low soon**, from a noise-aware forecast (:class:`GlucoseFilter`).

The filter estimates the sensor's level and rate with its noise in the model; the blood glucose
runs about ``lag_s`` (10 minutes) ahead of the interstitial glucose the sensor reads, so the
blood glucose ``h`` minutes ahead is the level ``h + lag`` minutes ahead of the sensor. A
warning needs the low to be **likely**, not possible: the forecast's upper bound (``z``
standard deviations above the mean, the level's and the rate's uncertainty, the sensor's drift
and the rate's own drift included) below 54 mg/dL within ``horizon_s`` (20 minutes, Dexcom's
"urgent low soon"). One noisy reading that dives moves the filter's level a fraction of the
dive and its rate less, and widens nothing: it does not warn; a fall that goes on does. Only
from ``ceiling`` (the low threshold plus 15, 85 mg/dL by default) down: higher up, a post-meal
fall more often levels off.

>>> from datetime import UTC, datetime, timedelta
>>> from vigil.clinical.careplan import CarePlan
>>> t0, plan = datetime(2026, 1, 5, 17, tzinfo=UTC), CarePlan.default_for({"t1d"})
>>> def at(i, v):
...     t = t0 + timedelta(minutes=5 * i)
...     return Observation("p1", t, Metric.GLUCOSE, v, "cgm-1", t, plan, {})
>>> det = PredictedLow()
>>> for i, v in enumerate([120, 120, 119, 120, 92, 120, 119]):  # one noisy dive
...     det.learn_one(at(i, v))
>>> det.score_one(at(7, 84)) is None  # another: not a fall
True
>>> det = PredictedLow()
>>> for i, v in enumerate([130, 120, 110, 100, 90, 82]):
...     det.learn_one(at(i, v))
>>> found = det.score_one(at(6, 74))
>>> print(found.explanation.sentence)  # doctest: +NORMALIZE_WHITESPACE
Glucose 74 mg/dL and falling 1.7 mg/dL per minute: blood glucose predicted at 41 mg/dL in
10 minutes (at most 49 mg/dL allowing for sensor noise), likely below 54 mg/dL (urgent low) by
then.
>>> found.explanation.details["code"], found.explanation.details["basis"]
('urgent_low_soon', 'cgm_forecast')

**From insulin on board.** For a patient whose pump or pen uploads its boluses (``insulin``)
and entered carbohydrate (``carbs``), the glucose is also predicted from them
(:class:`~vigil.streaming.insulin.InsulinForecast`, with the care plan's insulin sensitivity
and carb ratio) over ``insulin_horizon_s`` (40 minutes), from the filter's blood-glucose
estimate while the CGM agrees: the filter's rate not above ``rising`` (0.25 mg/dL per minute),
no compression step, and, as for the CGM's forecast, only from ``ceiling`` down (from 120 mg/dL
on simglucose patients of our own it warned of lows that never came).
"""

from __future__ import annotations

from typing import ClassVar, TypedDict

from vigil.clinical.findings import Finding, Severity
from vigil.clinical.glycaemia import LEVEL_1_LOW, LEVEL_2_LOW
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, finding, fmt
from vigil.streaming.glucose_filter import GlucoseFilter, State
from vigil.streaming.insulin import InsulinForecast

STEP_MIN = 5.0


class PredictedLow:
    """Urgent low soon: the forecast's upper bound below 54 mg/dL within the horizon."""

    name: ClassVar[str] = "glucose_predicted_low"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.GLUCOSE, Metric.INSULIN, Metric.CARBS})
    learns: ClassVar[bool] = False
    horizon_s = 20 * 60.0
    lag_s = 10 * 60.0
    level = LEVEL_2_LOW
    approach = 15.0
    z = 0.5
    """Standard deviations above the mean that must still be below the line (0.5: about 69 %;
    the standard deviation counts the sensor's drift since the filter models it, and 1 then
    cost the minimal model's fast falls half their lead)."""
    min_readings = 3
    insulin_horizon_s = 40 * 60.0
    rising = 0.25
    """mg/dL per minute: a CGM (the filter's rate) rising faster than this disagrees with a
    forecast of a low."""
    shared: ClassVar[tuple[str, ...]] = ("filter",)
    """One filter with the glucose range rule (the engine shares it): kept and learned once."""

    def __init__(self) -> None:
        self.filter = GlucoseFilter()
        self.forecast = InsulinForecast()

    def score_one(self, obs: Observation) -> Finding | None:
        if obs.metric is not Metric.GLUCOSE or obs.value < self.level or obs.censored:
            return None
        if obs.value > (obs.plan.threshold(Metric.GLUCOSE).low or LEVEL_1_LOW) + self.approach:
            return None  # above the ceiling of both forecasts: most readings, no filter work
        now = obs.epoch
        if self.filter.in_artefact(now, obs.value):
            return None  # a sudden step: a compression, not a fall
        state = self.filter.posterior(now, obs.value)
        if state[5] < self.min_readings:
            return None
        found = self._from_cgm(obs, state)
        if found is None and self.forecast.active(now):
            found = self._from_insulin(obs, state)
        return found

    def _from_cgm(self, obs: Observation, state: State) -> Finding | None:
        ceiling = (obs.plan.threshold(Metric.GLUCOSE).low or LEVEL_1_LOW) + self.approach
        rate = state[1]
        if obs.value > ceiling or rate >= 0:
            return None
        lag = self.lag_s / 60
        h = STEP_MIN
        while h <= self.horizon_s / 60:
            mean, sd = self.filter.predict(state, h + lag)
            if mean + self.z * sd < self.level:
                break
            h += STEP_MIN
        else:
            return None
        return finding(
            obs,
            detector=self.name,
            cause="predicted_low",
            severity=Severity.HIGH,
            score=self.level / max(mean, 1.0),
            sentence=f"Glucose {fmt(Metric.GLUCOSE, obs.value)} and falling {abs(rate):.1f} "
            f"mg/dL per minute: blood glucose predicted at {fmt(Metric.GLUCOSE, max(mean, 0))} in"
            f" {h:.0f} minutes (at most {fmt(Metric.GLUCOSE, mean + self.z * sd)} allowing for"
            f" sensor noise), likely below {self.level:.0f} mg/dL (urgent low) by then.",
            threshold=self.level,
            window_s=self.horizon_s,
            **_details("cgm_forecast", state),
            predicted_mg_dl=round(mean),
            upper_mg_dl=round(mean + self.z * sd),
            in_min=h,
            horizon_min=self.horizon_s / 60,
            lag_min=lag,
            sensor_noise_mg_dl=round(self.filter.noise_sd, 1),
        )

    def _from_insulin(self, obs: Observation, state: State) -> Finding | None:
        """The pump's boluses and carbohydrate, with the CGM agreeing in direction."""
        level, rate = state[0], state[1]
        low = obs.plan.threshold(Metric.GLUCOSE).low or LEVEL_1_LOW
        if rate > self.rising or obs.value > low + self.approach:
            return None
        glucose = level + min(rate, 0.0) * self.lag_s / 60
        forecast = self.forecast.predict(
            obs.epoch,
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
            **_details("insulin_on_board", state),
            below_at_min=forecast.below_at_min,
            predicted_mg_dl=round(forecast.lowest_mg_dl),
            insulin_on_board_u=round(forecast.insulin_on_board_u, 2),
            carbs_on_board_g=round(carbs),
            horizon_min=self.insulin_horizon_s / 60,
            lag_min=self.lag_s / 60,
            sensitivity_mg_dl_per_u=obs.plan.insulin.sensitivity_mg_dl_per_u,
            carb_ratio_g_per_u=obs.plan.insulin.carb_ratio_g_per_u,
        )

    def learn_one(self, obs: Observation) -> None:
        t = obs.epoch
        if obs.metric is Metric.INSULIN:
            self.forecast.add_insulin(t, obs.value)
        elif obs.metric is Metric.CARBS:
            self.forecast.add_carbs(t, obs.value)
        else:
            self.filter.learn(t, obs.value)


class _Details(TypedDict):
    code: str
    basis: str
    level_mg_dl: float
    rate_mg_dl_per_min: float


def _details(basis: str, state: State) -> _Details:
    """What every urgent-low-soon finding carries: its code, what it was predicted from, and
    the filter's level and rate."""
    return {
        "code": "urgent_low_soon",
        "basis": basis,
        "level_mg_dl": round(state[0], 1),
        "rate_mg_dl_per_min": round(state[1], 2),
    }
