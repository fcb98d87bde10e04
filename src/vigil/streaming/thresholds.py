"""Threshold detectors: a single reading against the care plan's limits.

>>> from datetime import UTC, datetime
>>> from uuid import uuid4
>>> from vigil.clinical.careplan import CarePlan
>>> t = datetime(2026, 1, 5, 8, tzinfo=UTC)
>>> obs = Observation(uuid4(), t, Metric.SPO2, 86.0, "ox-1", t, CarePlan.default_for({"copd"}),
...                   {Metric.SPO2: (t, 86.0)})
>>> print(SpO2Low().score_one(obs).explanation.sentence)
SpO2 86%, below the patient's 88% threshold (COPD target range 88-92%).
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, TypedDict

from vigil.clinical.careplan import URGENT_GLUCOSE_LOW, sudden_glucose_fall
from vigil.clinical.findings import Finding, Severity
from vigil.clinical.glycaemia import CGM_LOW_READING
from vigil.clinical.wording import explain
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation, finding, fmt
from vigil.streaming.glucose_filter import GlucoseFilter
from vigil.streaming.usual import moving
from vigil.streaming.window import Window

_HEART_RATE = Metric.HEART_RATE
"""A module constant for the per-reading rules: in Python 3.11 an enum member looked up on its
class goes through ``EnumType.__getattr__``."""


class HypertensiveCrisis:
    """Systolic >= 180 and/or diastolic >= 120 mmHg in one measurement."""

    name: ClassVar[str] = "bp_crisis"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC})
    learns: ClassVar[bool] = False

    def score_one(self, obs: Observation) -> Finding | None:
        sys_lim = obs.plan.threshold(Metric.BP_SYSTOLIC).high or 180.0
        dia_lim = obs.plan.threshold(Metric.BP_DIASTOLIC).high or 120.0
        other = Metric.BP_DIASTOLIC if obs.metric is Metric.BP_SYSTOLIC else Metric.BP_SYSTOLIC
        paired = obs.latest.get(other)
        other_value = paired[1] if paired is not None and paired[0] == obs.time else None
        systolic, diastolic = (
            (obs.value, other_value)
            if obs.metric is Metric.BP_SYSTOLIC
            else (other_value, obs.value)
        )
        over_sys = systolic is not None and systolic >= sys_lim
        over_dia = diastolic is not None and diastolic >= dia_lim
        if not (over_sys or over_dia):
            return None
        shown = f"{systolic:.0f}" if systolic is not None else "?"
        shown += f"/{diastolic:.0f}" if diastolic is not None else "/?"
        return finding(
            obs,
            detector=self.name,
            cause="hypertensive_crisis",
            severity=Severity.CRITICAL,
            score=max((systolic or 0) / sys_lim, (diastolic or 0) / dia_lim),
            sentence=(
                f"Blood pressure {shown} mmHg, at or above the {sys_lim:.0f}/{dia_lim:.0f} mmHg "
                "hypertensive-crisis threshold."
            ),
            metrics=(Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC),
            threshold=sys_lim if over_sys else dia_lim,
            systolic=systolic,
            diastolic=diastolic,
            limit_systolic=sys_lim,
            limit_diastolic=dia_lim,
        )

    def learn_one(self, obs: Observation) -> None:
        return None


class SpO2Low:
    """SpO2 below the patient's threshold (90 %, or 88 % for COPD); below 88 % is critical."""

    name: ClassVar[str] = "spo2_low"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.SPO2})
    learns: ClassVar[bool] = False

    def score_one(self, obs: Observation) -> Finding | None:
        limit = obs.plan.threshold(Metric.SPO2).low or 90.0
        if obs.value >= limit:
            return None
        copd = "copd" in obs.plan.conditions
        context = " (COPD target range 88-92%)" if copd else ""
        return finding(
            obs,
            detector=self.name,
            cause="spo2_low",
            severity=Severity.CRITICAL if obs.value < 88 else Severity.HIGH,
            score=(limit - obs.value) / limit,
            sentence=(
                f"SpO2 {fmt(Metric.SPO2, obs.value)}, below the patient's "
                f"{fmt(Metric.SPO2, limit)} threshold{context}."
            ),
            threshold=limit,
        )

    def learn_one(self, obs: Observation) -> None:
        return None


class GlucoseOutOfRange:
    """Glucose < 70 (hypoglycaemia), < 54 (urgent) or > 250 mg/dL (hyperglycaemia).

    **Critical only when it is.** An urgent low from a glucose stream (the previous reading less
    than ``confirm_within``, 15 minutes, before: a CGM) needs two agreeing: another reading below
    54 within those 15 minutes (the consensus definition's persistence), and the noise-aware
    level (:class:`~vigil.streaming.glucose_filter.GlucoseFilter`, this reading included) below
    54 too, so that two noisy points about a glucose of 60 do not page; or the value at or
    below ``very_low`` (40 mg/dL, where a CGM reads LOW), urgent at once. On a sensor that
    drifts (the filter's learned drift ``drifting``, 6 mg/dL, or more) the readings below 54
    must also span ``drift_wait_s`` (10 minutes): a drift lasts 15-45 minutes, so two readings 5
    minutes apart could be one. Otherwise the finding stays a hypoglycaemia (level 1, high) that
    says the glucose is near 54 (``code`` ``near_urgent_low``; ``held`` ``drift`` when the drift
    holds it). A lone reading (a finger-stick) is urgent at once."""

    name: ClassVar[str] = "glucose_range"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.GLUCOSE})
    learns: ClassVar[bool] = False  # remembers the previous reading; not a baseline
    confirm_p = 0.5
    """How likely the glucose (the filter's, the sensor's drift left out) must be below 54."""
    drifting = 6.0
    """mg/dL: a sensor whose learned drift is this or more waits ``drift_wait_s`` to page."""
    drift_wait_s = 10 * 60.0
    shared: ClassVar[tuple[str, ...]] = ("filter",)
    """The engine gives a patient's glucose rules one filter (the same readings, the same
    state): it learns each reading once (:meth:`GlucoseFilter.learn` skips a repeat)."""

    def __init__(
        self,
        confirm_within: timedelta = timedelta(minutes=15),
        very_low: float = CGM_LOW_READING,
        artefact_hold: timedelta = timedelta(minutes=60),
    ) -> None:
        self.confirm_within = confirm_within
        self.very_low = very_low
        self.artefact_hold = artefact_hold
        self.recent: Window = Window(maxlen=4)
        """(timestamp, value) of the latest glucose readings learned."""
        self.last_urgent_low: float | None = None
        """Timestamp of the latest learned reading below 54."""
        self.urgent_since: float | None = None
        """Timestamp of the first of the latest run of learned readings below 54."""
        self.filter = GlucoseFilter()
        """The CGM's noise-aware level: a critical low needs it to agree."""
        self.artefact: tuple[float, float] | None = None
        """(since, level before) of a sudden CGM step down not yet come back: a compression."""

    @property
    def previous(self) -> tuple[float, float] | None:
        points = self.recent.points
        return (points[-2], points[-1]) if points else None

    def _in_artefact(self, now: float, value: float) -> bool:
        """A low reached by a sudden step down (:func:`sudden_glucose_fall`) that has not come
        back (within 15 mg/dL of the level before) and is not older than ``artefact_hold``."""
        if self.previous is not None and sudden_glucose_fall(self.previous, (now, value)):
            return True
        if self.artefact is None:
            return False
        since, before = self.artefact
        return now - since <= self.artefact_hold.total_seconds() and value < before - 15

    def _urgent(self, obs: Observation) -> tuple[bool, str]:
        """Whether a reading below 54 is an urgent low, and if not, what holds it (``drift``, or
        ``""``: the next reading and the filter have not agreed)."""
        if obs.value >= URGENT_GLUCOSE_LOW:
            return False, ""
        if obs.censored == "below" or obs.value <= self.very_low or self.previous is None:
            return True, ""
        gap = obs.epoch - self.previous[0]
        if gap <= 0 or gap > self.confirm_within.total_seconds():
            return True, ""  # not a stream (or a late reading): nothing to confirm it against
        now = obs.epoch
        if not self._recent(obs, self.last_urgent_low):
            return False, ""
        if (
            self.filter.drift_sd >= self.drifting
            and self.urgent_since is not None
            and now - self.urgent_since < self.drift_wait_s
        ):
            return False, "drift"  # a low shorter than this sensor's drifts is not yet one
        state = self.filter.posterior(now, obs.value)
        return self.filter.below(state, URGENT_GLUCOSE_LOW) >= self.confirm_p, ""

    def _held(self, held: str) -> _Held:
        """What a finding near 54 says of what holds the page (the words are made from it)."""
        if held == "drift":
            return {
                "held": held,
                "drift_mg_dl": round(self.filter.drift_sd),
                "wait_min": round(self.drift_wait_s / 60),
            }
        return {}

    def _recent(self, obs: Observation, t: float | None) -> bool:
        return t is not None and 0 < obs.epoch - t <= self.confirm_within.total_seconds()

    def score_one(self, obs: Observation) -> Finding | None:
        limits = obs.plan.threshold(Metric.GLUCOSE)
        low, high = limits.low or 70.0, limits.high or 250.0
        if obs.value >= URGENT_GLUCOSE_LOW and low <= obs.value <= high:
            return None  # in range, and no urgent low (a plan's low may be set below 54)
        value = _glucose_shown(obs)
        very_low = obs.censored == "below" or obs.value <= self.very_low
        if obs.value < low and not very_low and self._in_artefact(obs.epoch, obs.value):
            return None  # a compression low: the sensor, not the blood glucose
        urgent, held = self._urgent(obs)
        if urgent:
            return finding(
                obs,
                detector=self.name,
                cause="hypoglycemia_urgent",
                severity=Severity.CRITICAL,
                score=URGENT_GLUCOSE_LOW / obs.value,
                sentence=(
                    f"Glucose {value}, below the {URGENT_GLUCOSE_LOW:.0f} mg/dL "
                    "level of urgent (level 2) hypoglycaemia."
                ),
                threshold=URGENT_GLUCOSE_LOW,
                code="urgent_low",
            )
        if obs.value < low:
            pending = obs.value < URGENT_GLUCOSE_LOW
            # The words (near 54 when pending) from the one wording home, in English as stored.
            why = self._held(held) if pending else {}
            said = {"censored": obs.censored, "urgent_unconfirmed": pending, **why}
            sentence = explain(
                {"code": "hypoglycemia", "value": obs.value, "threshold": low, "details": said},
                cause="hypoglycemia",
                detector=self.name,
                lang="en",
            )
            return finding(
                obs,
                detector=self.name,
                cause="hypoglycemia",
                severity=Severity.HIGH,
                score=low / obs.value,
                sentence=sentence,
                threshold=low,
                urgent_unconfirmed=pending,
                code="near_urgent_low" if pending else "low",
                **why,
            )
        if obs.value > high:
            return finding(
                obs,
                detector=self.name,
                cause="hyperglycemia",
                severity=Severity.WARNING,
                score=obs.value / high,
                sentence=f"Glucose {value}, above the {high:.0f} mg/dL hyperglycaemia threshold.",
                threshold=high,
            )
        return None

    def learn_one(self, obs: Observation) -> None:
        t = obs.epoch
        previous = self.previous
        if previous is not None and t <= previous[0]:
            return
        if previous is not None and sudden_glucose_fall(previous, (t, obs.value)):
            self.artefact = (t, previous[1])
        elif self.artefact is not None and not self._in_artefact(t, obs.value):
            self.artefact = None
        if self.artefact is None and obs.value < URGENT_GLUCOSE_LOW:
            if not self._recent(obs, self.last_urgent_low):
                self.urgent_since = t
            self.last_urgent_low = t
        else:
            self.urgent_since = None
        self.filter.learn(t, obs.value)
        self.recent.append((t, obs.value))


class _Held(TypedDict, total=False):
    held: str
    drift_mg_dl: int
    wait_min: int


def _glucose_shown(obs: Observation) -> str:
    """The value as the device showed it: a CGM's LOW / HIGH mark is not a number."""
    if obs.censored == "below":
        return f"LOW (under {fmt(Metric.GLUCOSE, obs.value)})"
    if obs.censored == "above":
        return f"HIGH (over {fmt(Metric.GLUCOSE, obs.value)})"
    return fmt(Metric.GLUCOSE, obs.value)


class HeartRateOutOfRange:
    """Heart rate above/below the plan's limits (120 and 40 /min) and staying there: the readings
    out of range, with none in range between them, span at least ``persist`` (30 min), so one
    reading after exercise, or a minute of recovery, is not tachycardia. Far out (above
    ``extreme_high``, below ``extreme_low``) alarms on one reading.

    **Activity-aware**: while the patient moves (a wearable's steps,
    :func:`~vigil.streaming.usual.moving`, :mod:`vigil.clinical.personal`), a rate above the
    limit is exercise: it neither alarms nor starts a run, unless above ``extreme_high``."""

    name: ClassVar[str] = "heart_rate"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.HEART_RATE})
    learns: ClassVar[bool] = False  # remembers the current run of readings; not a baseline
    __slots__ = ("extreme_high", "extreme_low", "max_gap", "persist", "run")

    def __init__(
        self,
        persist: timedelta = timedelta(minutes=30),
        max_gap: timedelta = timedelta(hours=6),
        extreme_high: float = 170.0,
        extreme_low: float = 35.0,
    ) -> None:
        self.persist = persist
        self.max_gap = max_gap
        self.extreme_high = extreme_high
        self.extreme_low = extreme_low
        self.run: tuple[int, float, float] | None = None
        """(direction +1 high / -1 low, first timestamp, last timestamp) of the current run."""

    def _direction(self, obs: Observation) -> int:
        limits = obs.plan.threshold(_HEART_RATE)
        if obs.value > (limits.high or 120.0):
            if obs.value <= self.extreme_high and moving(obs):
                return 0  # exercise, not tachycardia
            return 1
        if obs.value < (limits.low or 40.0):
            return -1
        return 0

    def _run_start(self, obs: Observation, direction: int) -> float:
        now = obs.epoch
        run = self.run
        if (
            run is not None
            and run[0] == direction
            and 0 < now - run[2] <= self.max_gap.total_seconds()
        ):
            return run[1]
        return now

    def score_one(self, obs: Observation) -> Finding | None:
        direction = self._direction(obs)
        if direction == 0:
            return None
        limits = obs.plan.threshold(Metric.HEART_RATE)
        lasted = obs.epoch - self._run_start(obs, direction)
        persisted = lasted >= self.persist.total_seconds()
        value = fmt(Metric.HEART_RATE, obs.value)
        how = f" for {lasted / 60:.0f} minutes." if persisted else "."
        if direction > 0:
            high = limits.high or 120.0
            if not (persisted or obs.value > self.extreme_high):
                return None
            return finding(
                obs,
                detector=self.name,
                cause="tachycardia",
                severity=Severity.HIGH,
                score=obs.value / high,
                sentence=f"Heart rate {value} at rest, above the {high:.0f}/min threshold{how}",
                threshold=high,
                lasted_s=lasted,
            )
        low = limits.low or 40.0
        if not (persisted or obs.value < self.extreme_low):
            return None
        return finding(
            obs,
            detector=self.name,
            cause="bradycardia",
            severity=Severity.HIGH,
            score=low / obs.value,
            sentence=f"Heart rate {value}, below the {low:.0f}/min threshold{how}",
            threshold=low,
            lasted_s=lasted,
        )

    def learn_one(self, obs: Observation) -> None:
        now = obs.epoch
        if self.run is not None and now <= self.run[2]:
            return  # late or repeated: the run only moves forward
        direction = self._direction(obs)
        self.run = (direction, self._run_start(obs, direction), now) if direction else None


class Fever:
    """Body temperature at or above 38.0 °C."""

    name: ClassVar[str] = "fever"
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.BODY_TEMPERATURE})
    learns: ClassVar[bool] = False

    def score_one(self, obs: Observation) -> Finding | None:
        high = obs.plan.threshold(Metric.BODY_TEMPERATURE).high or 38.0
        if obs.value < high:
            return None
        return finding(
            obs,
            detector=self.name,
            cause="fever",
            severity=Severity.HIGH if obs.value >= 39.0 else Severity.WARNING,
            score=obs.value / high,
            sentence=f"Temperature {fmt(Metric.BODY_TEMPERATURE, obs.value)}, at or above the "
            f"{high:.1f}°C fever threshold.",
            threshold=high,
        )

    def learn_one(self, obs: Observation) -> None:
        return None
