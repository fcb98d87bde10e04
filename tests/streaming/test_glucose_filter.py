"""The CGM's Kalman filter: scoring does not move it, compressions are held out, the noise is
learned per sensor, and its state stays small."""

from __future__ import annotations

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
    rng = random.Random(1)
    quiet = fed([120 + rng.gauss(0, 2) for _ in range(200)])
    noisy = fed([120 + rng.gauss(0, 15) for _ in range(200)])
    assert quiet.noise_sd < 6 < 10 < noisy.noise_sd


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
