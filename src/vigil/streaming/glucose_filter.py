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

**The sensor's drift.** A CGM's error is not only white: it drifts (simglucose's sensors: an
AR(1) error of SD 10-16 mg/dL lasting 15-45 minutes), and a filter with white noise only takes
a drift for a move of the glucose. The state holds the drift too (AR(1), ``drift_tau_min``, 40
minutes) and a reading is level + drift + white noise; the level (the glucose) and its
variance leave the drift out, so that :meth:`below` (the probability that the glucose is below
a line) and :meth:`predict` count it. The drift's size is learned per sensor
(:meth:`_learn_drift`): 9-20 mg/dL on simglucose's sensors, 1-3 on the minimal model's quiet
one.

State is a few floats in slots (bounded: 25 slots, about 490 bytes pickled), rebuilt on restart
by replaying the stored history like every detector's.

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
"""(level, rate, level variance, covariance, rate variance, readings): the glucose itself, the
sensor's drift left out."""
_Full = tuple[float, float, float, float, float, float, float, float, float]
"""(level, rate, drift, p00, p01, p11, p02, p12, p22): the filter's whole state."""


class GlucoseFilter:
    """One patient's CGM level and rate, and the sensor's drift (a Kalman filter); ``t`` is epoch
    seconds."""

    __slots__ = (
        "accel_sd",
        "artefact_before",
        "artefact_since",
        "drift",
        "drift_var",
        "last_t",
        "last_v",
        "level",
        "n",
        "noise_sd",
        "p00",
        "p01",
        "p02",
        "p11",
        "p12",
        "p22",
        "rate",
        "rough",
        "s1",
        "s2",
        "t",
        "t2",
        "v1",
        "v2",
        "white",
    )
    max_gap_min = 30.0
    noise_weight = 0.02
    noise_range = (3.0, 20.0)
    drift_tau_min = 40.0
    """How long the sensor's drift lasts (its AR(1) time constant, minutes)."""
    drift_range = (1.0, 20.0)
    smooth_min = 15.0
    rough_weight = 0.02
    """The weight of a reading in the roughness averages (about the last 50 readings)."""
    rough_after = 6
    """Readings after a (re)start before the roughness counts: the smoothing starts flat, so a
    fall under way at the start would look rough."""
    rough_cap = 2.0
    """A reading's roughness counts at most this many times the mean roughness."""
    rough_clipped = 0.92
    """The mean of a roughness so capped over its plain mean, at the fixed point: a normal
    error's distance from its trend, capped at twice the capped mean, averages 0.735 of its SD
    where the plain mean is 0.798 (so the mean is divided by this before it is read)."""
    rough_floor = 2.8
    """mg/dL: the mean roughness (a reading's distance from its 15-minute trend) the glucose's
    own turns give (the minimal model's, its 2 mg/dL of white noise taken out)."""
    rough_ratio = 0.35
    """The mean roughness a drift of SD 1 makes (simglucose's sensor model: 0.33-0.38)."""
    white_ratio = 1.93
    white_rough = 0.9
    """The mean second difference and the mean roughness white noise of SD 1 makes."""
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
        self.drift = 0.0
        self.p00 = self.p01 = self.p11 = self.p02 = self.p12 = self.p22 = 0.0
        self.drift_var = self.drift_range[0] ** 2
        """The drift's variance (mg/dL squared; :attr:`drift_sd`), as of a quiet sensor at first."""
        self.rough = math.hypot(self.rough_floor, 2 * self.white_rough) * self.rough_clipped
        """The mean roughness (mg/dL, capped: :attr:`rough_clipped`), as of a quiet sensor at
        first."""
        self.s1 = self.s2 = _UNSET
        """The double exponential smoothing of the readings (:meth:`_learn_drift`)."""
        self.white = 2 * self.white_ratio
        """The mean of the readings' second differences (mg/dL), as of a quiet sensor at first."""
        self.v1 = self.v2 = self.t2 = _UNSET
        """The last two readings taken in (the time of the last is :attr:`t`)."""
        self.n = 0
        """Readings since the filter (re)started."""
        self.last_t = _UNSET
        self.last_v = _UNSET
        """The last reading learned (artefact or not)."""
        self.artefact_since = _UNSET
        self.artefact_before = _UNSET

    def _continues(self, t: float) -> bool:
        return self.n > 0 and 0 < t - self.t <= self.max_gap_min * 60

    def _prior(self, t: float) -> _Full:
        """The state carried forward to ``t`` (a continuing filter)."""
        dt = (t - self.t) / 60
        q = self.accel_sd**2
        a = math.exp(-dt / self.drift_tau_min)
        p12 = self.p12 * a
        return (
            self.level + self.rate * dt,
            self.rate,
            self.drift * a,
            self.p00 + 2 * dt * self.p01 + dt * dt * self.p11 + q * dt**3 / 3,
            self.p01 + dt * self.p11 + q * dt * dt / 2,
            self.p11 + q * dt,
            (self.p02 + dt * self.p12) * a,
            p12,
            a * a * self.p22 + self.drift_var * (1 - a * a),
        )

    def _start(self, v: float) -> _Full:
        return v, 0.0, 0.0, self.noise_sd**2, 0.0, self.initial_rate_sd**2, 0.0, 0.0, 0.0

    def _update(self, prior: _Full, v: float) -> _Full:
        """The reading (level + drift + white noise) taken into a prior."""
        level, rate, drift, p00, p01, p11, p02, p12, p22 = prior
        g0, g1, g2 = p00 + p02, p01 + p12, p02 + p22
        s = g0 + g2 + self.noise_sd**2
        innovation = (v - level - drift) / s
        return (
            level + g0 * innovation,
            rate + g1 * innovation,
            drift + g2 * innovation,
            p00 - g0 * g0 / s,
            p01 - g0 * g1 / s,
            p11 - g1 * g1 / s,
            p02 - g0 * g2 / s,
            p12 - g1 * g2 / s,
            p22 - g2 * g2 / s,
        )

    def posterior(self, t: float, v: float) -> State:
        """(level, rate, p00, p01, p11, n) with the reading at ``t`` taken in, without changing
        the filter; the prior carried forward unchanged for an artefact."""
        if not self._continues(t):
            if self.n and t <= self.t:
                return self.state()
            return v, 0.0, self.noise_sd**2, 0.0, self.initial_rate_sd**2, 1
        prior = self._prior(t)
        if self.in_artefact(t, v):
            return prior[0], prior[1], prior[3], prior[4], prior[5], self.n
        level, rate, _, p00, p01, p11, _, _, _ = self._update(prior, v)
        return level, rate, p00, p01, p11, self.n + 1

    def below(self, state: State, line: float) -> float:
        """The probability that the glucose (a state's level, the drift left out) is below
        ``line``."""
        sd = math.sqrt(max(state[2], 1e-9))
        return 0.5 * math.erfc((state[0] - line) / (sd * math.sqrt(2)))

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

    def _learn_drift(self, t: float, v: float, continues: bool) -> None:
        """The drift's size, from how rough the readings are at two scales. A reading's distance
        from its trend (Brown's double exponential smoothing over :attr:`smooth_min`, which
        follows a straight fall without lag) grows with drift and white noise alike; its
        distance from the straight line through the two readings before it (a second
        difference) grows with white noise only, a drift being smooth from one reading to the
        next. The mean of each (:attr:`rough_weight`) gives the white noise
        (:attr:`white_ratio`) and, what is left of the roughness once that and the glucose's
        own turns (:attr:`rough_floor`) are taken out, the drift (:attr:`rough_ratio`)."""
        if not continues or math.isnan(self.s1):
            self.s1 = self.s2 = self.v1 = v
            self.t2 = self.v2 = _UNSET
            return
        dt = t - self.t
        s1, s2 = self.s1, self.s2
        rough = abs(v - 2 * s1 + s2)
        alpha = 1 - math.exp(-dt / (60 * self.smooth_min))
        s1 += alpha * (v - s1)
        self.s1, self.s2 = s1, s2 + alpha * (s1 - s2)
        if self.n >= self.rough_after:
            w = self.rough_weight
            if abs(dt - (self.t - self.t2)) <= 60:  # evenly spaced (False while t2 is unset)
                self.white += w * (abs(v - 2 * self.v1 + self.v2) - self.white)
            r = self.rough
            # one reading moves the mean at most as far as a reading of twice the mean: a
            # sharp turn of the glucose itself (a fall after a rise) is a few large distances
            # from the trend, a drift a run of moderate ones
            cap = self.rough_cap * r
            r += w * ((cap if rough > cap else rough) - r)
            self.rough = r
            white = self.white * self.white_rough / self.white_ratio
            lo, hi = self.drift_range
            r /= self.rough_clipped
            excess = (r * r - white * white - self.rough_floor**2) / self.rough_ratio**2
            lo, hi = lo * lo, hi * hi
            self.drift_var = hi if excess > hi else lo if excess < lo else excess
        self.t2, self.v2, self.v1 = self.t, self.v1, v

    @property
    def drift_sd(self) -> float:
        """mg/dL: the size of the sensor's drift, learned from the readings' roughness."""
        return math.sqrt(self.drift_var)

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
            continues = self._continues(t)
            self._learn_drift(t, v, continues)
            if continues:
                prior = self._prior(t)
                level, _, drift, p00, _, _, p02, _, p22 = prior
                surprise = (v - level - drift) ** 2 - p00 - 2 * p02 - p22
                var = (1 - self.noise_weight) * self.noise_sd**2 + self.noise_weight * surprise
                lo, hi = self.noise_range
                # min(max(sqrt(max(var, 0)), lo), hi), without the builtins' calls
                sd = math.sqrt(0.0 if var < 0.0 else var)
                sd = lo if lo > sd else sd
                self.noise_sd = hi if hi < sd else sd  # learned before the update uses it
                full = self._update(prior, v)
                self.n += 1
            else:
                full = self._start(v)
                self.n = 1
            (
                self.level,
                self.rate,
                self.drift,
                self.p00,
                self.p01,
                self.p11,
                self.p02,
                self.p12,
                self.p22,
            ) = full
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
