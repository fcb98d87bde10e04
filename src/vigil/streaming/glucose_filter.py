"""A CGM's glucose level and rate, estimated with the sensor's noise in the model: a Kalman
filter on (level, rate), the field's standard answer to CGM noise (Facchinetti, Sparacino et al.
2010-2013; Kalman smoothing and prediction of CGM).

The state is a level (mg/dL) and a rate (mg/dL per minute) that drifts as a random walk
(``accel_sd``: how fast the rate may change, mg/dL per minute per sqrt(minute)); each reading
is the level plus white noise (``noise_sd``, mg/dL: a CGM's error about its own smooth signal is
about 10-16 mg/dL), learned for each sensor from what the filter did not expect (an exponential
average of the squared innovations less the level's own uncertainty, weight ``noise_weight``,
kept within ``noise_range``): a quiet sensor's readings are trusted more. The filter weighs
each reading by what it expected: a lone reading 25 mg/dL
below the trend moves the level by a fraction of that and the rate by less, so one noisy dive is
not a fall; a fall that goes on moves both. A prediction ``h`` minutes ahead carries its
uncertainty (the level's, the rate's times ``h``, and the rate's drift over ``h``).

A step down faster than :data:`~vigil.clinical.careplan.CGM_MAX_FALL` (a compression low) is
not blood glucose: the filter holds its state until the readings come back within
``artefact_band`` of the level before the step, or ``artefact_hold`` has passed (then it starts
again from the reading). A gap of more than ``max_gap`` minutes starts it again too.

State is a few floats in slots (bounded: 13 slots), rebuilt on restart by replaying the
stored history like every detector's.

>>> f = GlucoseFilter()
>>> for i, v in enumerate([120] * 6 + [96, 119, 121, 120]):  # one noisy dip at 96
...     f.learn(i * 300.0, v)
>>> round(f.level), round(f.rate, 2)
(117, 0.03)
>>> f = GlucoseFilter()
>>> for i, v in enumerate([120, 114, 108, 102, 96, 90, 84]):  # a steady fall, 1.2 mg/dL/min
...     f.learn(i * 300.0, v)
>>> round(f.level), round(f.rate, 1)
(86, -1.1)
>>> [round(x) for x in f.predict(f.state(), 20.0)]  # mean and sd 20 minutes ahead
[63, 15]
"""

from __future__ import annotations

import math

from vigil.clinical.careplan import sudden_glucose_fall

_UNSET = math.nan
State = tuple[float, float, float, float, float, int]
"""(level, rate, level variance, covariance, rate variance, readings)."""


class GlucoseFilter:
    """One patient's CGM level and rate (a Kalman filter); ``t`` is epoch seconds."""

    __slots__ = (
        "accel_sd",
        "artefact_before",
        "artefact_since",
        "last_t",
        "last_v",
        "level",
        "n",
        "noise_sd",
        "p00",
        "p01",
        "p11",
        "rate",
        "t",
    )
    max_gap_min = 30.0
    noise_weight = 0.02
    noise_range = (3.0, 20.0)
    artefact_band = 15.0
    artefact_hold_s = 3600.0
    initial_rate_sd = 1.0
    """mg/dL per minute: what is known of the rate at the first reading."""

    def __init__(self, noise_sd: float = 10.0, accel_sd: float = 0.1) -> None:
        self.noise_sd = noise_sd
        self.accel_sd = accel_sd
        self.t = _UNSET
        self.level = _UNSET
        self.rate = 0.0
        self.p00 = self.p01 = self.p11 = 0.0
        self.n = 0
        """Readings since the filter (re)started."""
        self.last_t = _UNSET
        self.last_v = _UNSET
        """The last reading learned (artefact or not)."""
        self.artefact_since = _UNSET
        self.artefact_before = _UNSET

    def _continues(self, t: float) -> bool:
        return self.n > 0 and 0 < t - self.t <= self.max_gap_min * 60

    def _prior(self, t: float) -> tuple[float, float, float, float, float]:
        """The state carried forward to ``t`` (a continuing filter)."""
        dt = (t - self.t) / 60
        q = self.accel_sd**2
        return (
            self.level + self.rate * dt,
            self.rate,
            self.p00 + 2 * dt * self.p01 + dt * dt * self.p11 + q * dt**3 / 3,
            self.p01 + dt * self.p11 + q * dt * dt / 2,
            self.p11 + q * dt,
        )

    def posterior(self, t: float, v: float) -> State:
        """(level, rate, p00, p01, p11, n) with the reading at ``t`` taken in, without changing
        the filter; the prior carried forward unchanged for an artefact."""
        if not self._continues(t):
            if self.n and t <= self.t:
                return self.state()
            return v, 0.0, self.noise_sd**2, 0.0, self.initial_rate_sd**2, 1
        level, rate, p00, p01, p11 = self._prior(t)
        if self.in_artefact(t, v):
            return level, rate, p00, p01, p11, self.n
        s = p00 + self.noise_sd**2
        k0, k1 = p00 / s, p01 / s
        innovation = v - level
        return (
            level + k0 * innovation,
            rate + k1 * innovation,
            (1 - k0) * p00,
            (1 - k0) * p01,
            p11 - k1 * p01,
            self.n + 1,
        )

    def in_artefact(self, t: float, v: float) -> bool:
        """Whether the reading is a sudden step down, or still below the level before one that
        has not come back and is not older than the hold."""
        if not math.isnan(self.last_t) and sudden_glucose_fall((self.last_t, self.last_v), (t, v)):
            return True
        if math.isnan(self.artefact_since):
            return False
        return (
            t - self.artefact_since <= self.artefact_hold_s
            and v < self.artefact_before - self.artefact_band
        )

    def learn(self, t: float, v: float) -> None:
        """Take the reading in (what :meth:`posterior` gives, with the noise learned first); a
        reading not newer than the last one learned is left out, so two detectors sharing the
        filter may both call this with the same reading."""
        last_t = self.last_t
        if not math.isnan(last_t) and t <= last_t:
            return  # late or repeated: the filter only moves forward
        if not math.isnan(last_t) and sudden_glucose_fall((last_t, self.last_v), (t, v)):
            self.artefact_since, self.artefact_before = t, self.last_v
            held = True
        elif math.isnan(self.artefact_since):
            held = False
        elif (
            t - self.artefact_since <= self.artefact_hold_s
            and v < self.artefact_before - self.artefact_band
        ):
            held = True  # still below the level before the step (:meth:`in_artefact`)
        else:
            if t - self.artefact_since > self.artefact_hold_s:
                self.n = 0  # held too long: start again from this reading
            self.artefact_since = self.artefact_before = _UNSET
            held = False
        if not held:
            if self._continues(t):
                level, rate, p00, p01, p11 = self._prior(t)
                surprise = (v - level) ** 2 - p00
                var = (1 - self.noise_weight) * self.noise_sd**2 + self.noise_weight * surprise
                lo, hi = self.noise_range
                # min(max(sqrt(max(var, 0)), lo), hi), without the builtins' calls
                sd = math.sqrt(0.0 if var < 0.0 else var)
                sd = lo if lo > sd else sd
                self.noise_sd = hi if hi < sd else sd
                s = p00 + self.noise_sd**2
                k0, k1 = p00 / s, p01 / s
                innovation = v - level
                self.level = level + k0 * innovation
                self.rate = rate + k1 * innovation
                self.p00 = (1 - k0) * p00
                self.p01 = (1 - k0) * p01
                self.p11 = p11 - k1 * p01
                self.n += 1
            else:
                self.level, self.rate, self.n = v, 0.0, 1
                self.p00, self.p01, self.p11 = self.noise_sd**2, 0.0, self.initial_rate_sd**2
            self.t = t
        self.last_t, self.last_v = t, v

    def state(self) -> State:
        return self.level, self.rate, self.p00, self.p01, self.p11, self.n

    def predict(self, state: State, minutes: float) -> tuple[float, float]:
        """(mean, sd) of the level ``minutes`` after a state's time (:meth:`posterior`)."""
        level, rate, p00, p01, p11, _ = state
        h = minutes
        var = p00 + 2 * h * p01 + h * h * p11 + self.accel_sd**2 * h**3 / 3
        return level + rate * h, math.sqrt(max(var, 0.0))
