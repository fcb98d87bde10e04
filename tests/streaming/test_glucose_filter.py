"""The CGM's Kalman filter: scoring does not move it, compressions are held out, the noise is
learned per sensor, and its state stays small."""

from __future__ import annotations

import math
import pickle
import random

from vigil.streaming.forecast import PredictedLow
from vigil.streaming.glucose_filter import GlucoseFilter
from vigil.streaming.thresholds import GlucoseOutOfRange


def fed(values: list[float], f: GlucoseFilter | None = None) -> GlucoseFilter:
    f = f or GlucoseFilter()
    for i, v in enumerate(values):
        f.learn(i * 300.0, v)
    return f


def test_a_posterior_changes_nothing() -> None:
    f = fed([120, 118, 115, 111, 108])
    before = pickle.dumps(f)
    state = f.posterior(5 * 300.0, 90.0)
    assert state[0] < f.level
    assert pickle.dumps(f) == before


def test_a_compression_step_is_held_out_until_it_comes_back() -> None:
    f = fed([120] * 8 + [75, 74, 76, 75])  # 45 mg/dL in 5 minutes, a plateau
    assert round(f.level) == 120
    assert f.in_artefact(12 * 300.0, 74.0)
    f = fed([120] * 8 + [75, 74, 76, 75, 118, 119])  # back
    assert not f.in_artefact(14 * 300.0, 119.0)
    assert round(f.level) == 119


def test_the_sensor_noise_is_learned() -> None:
    """White noise of SD 8 (not 15 as before the drift: noise that large trips the sudden-fall
    rule on a fifth of the readings, and what is left is no longer white)."""
    rng = random.Random(1)
    quiet = fed([120 + rng.gauss(0, 2) for _ in range(300)])
    noisy = fed([120 + rng.gauss(0, 8) for _ in range(300)])
    assert quiet.noise_sd < 4.5 < 6 < noisy.noise_sd
    assert quiet.drift_sd < 2
    assert noisy.drift_sd < 2  # white noise is not a drift


def test_the_sensors_drift_is_learned_apart_from_white_noise() -> None:
    """A drift (an AR(1) error of SD 12 lasting about 40 minutes, as simglucose's sensors) is
    learned as a drift; a quiet sensor's is not. The filter then leaves part of a dip to the
    drift, and the glucose's uncertainty counts it."""
    rng = random.Random(1)
    a, e, values = math.exp(-5 / 40), 0.0, []
    for _ in range(300):
        e = a * e + rng.gauss(0, 12 * math.sqrt(1 - a * a))
        values.append(120 + e + rng.gauss(0, 2))
    drifting = fed(values)
    quiet = fed([120 + rng.gauss(0, 2) for _ in range(300)])
    assert drifting.drift_sd > 7 > 2 > quiet.drift_sd
    assert drifting.noise_sd < 5
    dip_drifting = drifting.posterior(300 * 300.0, 95.0)
    dip_quiet = quiet.posterior(300 * 300.0, 95.0)
    assert dip_drifting[2] > 4 * dip_quiet[2]  # the level's variance
    assert drifting.below(dip_drifting, 100.0) < quiet.below(dip_quiet, 100.0)


def test_a_sharp_turn_of_the_glucose_is_not_learned_as_a_drift() -> None:
    """A fall of 14 mg/dL every 5 minutes right after a slow rise (a phone's first upload, the
    Nightscout bar's case) and a day on a quiet sensor ended by 45 minutes of an exercise fall:
    a few large distances from the trend, which move the roughness at most as far as twice its
    mean each; the sensor stays quiet, so its urgent low is not held for a drift."""
    rng = random.Random(3)
    day = [120 + rng.gauss(0, 2) for _ in range(288)]
    fall = [day[-1] - 2.8 * 5 * i + rng.gauss(0, 2) for i in range(1, 10)]
    for values in ([114, 115, 116, 117, 118, 119, 104, 90, 76, 64, 52, 46], day + fall):
        assert fed(values).drift_sd < GlucoseOutOfRange.drifting
        # what the cap is for: without it, the turn reads as a drift of 11-12 mg/dL
        assert fed(values, _Uncapped()).drift_sd > GlucoseOutOfRange.drifting


class _Uncapped(GlucoseFilter):
    __slots__ = ()
    rough_cap = math.inf
    rough_clipped = 1.0


def test_the_glucose_detectors_state_stays_small() -> None:
    """Floats in slots: a day of CGM readings leaves the two glucose detectors' state a few
    hundred bytes (the performance budget is 4 KB per patient for everything)."""
    rng = random.Random(2)
    forecast, ranges = PredictedLow(), GlucoseOutOfRange()
    for i in range(288):
        forecast.filter.learn(i * 300.0, 100 + rng.gauss(0, 10))
        ranges.filter.learn(i * 300.0, 100 + rng.gauss(0, 10))
    assert forecast.filter.n > 0
    assert ranges.filter.n > 0
    assert len(pickle.dumps(forecast.filter)) < 600
    assert len(pickle.dumps(ranges)) < 2000
