"""Behaviour of single detectors that the evaluation's numbers depend on."""

from __future__ import annotations

import math
import pickle
import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

from river import stats

from vigil.clinical import CarePlan
from vigil.core.metrics import Metric
from vigil.streaming import Observation
from vigil.streaming.baseline import WeightAboveBaseline, ew_mean
from vigil.streaming.missing import MissingData
from vigil.streaming.thresholds import HeartRateOutOfRange
from vigil.streaming.trends import WeightGain
from vigil.streaming.usual import PersonalBaselines

T0 = datetime(2026, 1, 5, 7, tzinfo=UTC)
P1 = UUID(int=1)
HF = CarePlan.default_for({"heart_failure"})


def obs(metric: Metric, value: float, at: timedelta, plan: CarePlan = HF) -> Observation:
    t = T0 + at
    return Observation(P1, t, metric, value, "dev", t, plan, {metric: (t, value)})


def feed(det: object, stream: list[Observation]) -> list[str]:
    causes = []
    for o in stream:
        f = det.score_one(o)  # type: ignore[attr-defined]
        det.learn_one(o)  # type: ignore[attr-defined]
        causes.append(f.cause if f else "")
    return causes


def test_the_compact_baselines_compute_rivers_ew_statistics_to_the_last_bit() -> None:
    # The baselines keep river 0.26.1's EWMean / EWVar arithmetic in floats of their own (a
    # river object per cell cost 6.6 KB a patient); a change on either side must show here.
    rng = random.Random(7)
    mean, var = stats.EWMean(fading_factor=0.1), stats.EWVar(fading_factor=0.1)
    ours = 0.0
    b = PersonalBaselines()
    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for i in range(500):
        x = rng.gauss(72, 9)
        mean.update(x)
        var.update(x)
        ours = ew_mean(ours, i, x, 0.1)
        b.learn(Metric.HEART_RATE, t0 + timedelta(days=i), x, UTC)
        assert ours == mean.get()
        usual = b.usual(Metric.HEART_RATE, t0 + timedelta(days=i), UTC)
        if i >= 4:
            assert usual is not None
            assert usual.mean == mean.get()
            assert usual.sd == math.sqrt(max(var.get(), 0.0))
    assert mean.get() != 72.0  # it moved
    assert len(pickle.dumps(b)) < 400  # small enough for per-patient state


def test_one_fast_heart_rate_after_exercise_is_not_tachycardia() -> None:
    minutes = [0, 5, 20, 35]
    values = [140, 128, 90, 85]  # recovery after climbing stairs
    stream = [
        obs(Metric.HEART_RATE, v, timedelta(minutes=m))
        for m, v in zip(minutes, values, strict=True)
    ]
    assert feed(HeartRateOutOfRange(), stream) == ["", "", "", ""]


def test_heart_rate_high_for_half_an_hour_is_tachycardia_with_its_duration() -> None:
    det = HeartRateOutOfRange()
    stream = [obs(Metric.HEART_RATE, 131, timedelta(minutes=15 * i)) for i in range(4)]
    assert feed(det, stream) == ["", "", "tachycardia", "tachycardia"]
    f = det.score_one(obs(Metric.HEART_RATE, 133, timedelta(minutes=60)))
    assert f is not None
    assert f.explanation.sentence == (
        "Heart rate 133/min at rest, above the 120/min threshold for 60 minutes."
    )


def test_extreme_heart_rate_alarms_on_one_reading() -> None:
    assert feed(HeartRateOutOfRange(), [obs(Metric.HEART_RATE, 182, timedelta())]) == [
        "tachycardia"
    ]


def daily(values: list[float]) -> list[Observation]:
    return [obs(Metric.BODY_WEIGHT, v, timedelta(days=i)) for i, v in enumerate(values)]


def test_winter_clothes_jump_waits_for_the_next_weighing() -> None:
    clothes = [80.0, 80.1, 79.9, 80.0, 81.9, 80.1]  # +1.9 kg in a day, then gone
    assert set(feed(WeightGain(), daily(clothes))) == {""}
    assert set(feed(WeightAboveBaseline(grace_period=1), daily(clothes))) == {""}


def test_gradual_gain_fires_the_three_day_rule() -> None:
    gain = [80.0, 80.1, 79.9, 80.0, 80.6, 81.3, 82.0, 82.6]
    assert "hf_decompensation" in feed(WeightGain(), daily(gain))


def test_personal_baseline_is_not_dragged_up_by_a_slow_gain() -> None:
    # +1.8 kg over a week: under the 2 kg in 3 days rule, caught against the lagged baseline.
    slow = [80.0, 80.1, 79.9, 80.0, 80.1, 79.9, 80.0, 80.3, 80.6, 80.9, 81.2, 81.5, 81.8]
    det = WeightAboveBaseline()
    causes = feed(det, daily(slow))
    assert "hf_decompensation" not in feed(WeightGain(), daily(slow))
    assert causes[-1] == "hf_decompensation"
    assert det.mean < 80.3


def test_a_cuff_twice_a_day_is_not_a_continuous_device() -> None:
    clock = MissingData()
    for day in range(5):
        for minute in (0, 2):  # a session: two readings two minutes apart, morning and evening
            for hour in (7, 19):
                clock.seen(P1, "cuff", T0 + timedelta(days=day, hours=hour - 7, minutes=minute))
    assert clock.check(T0 + timedelta(days=5, hours=1)) == []


def test_a_silent_cgm_is_reported_once_after_a_day() -> None:
    clock = MissingData()
    for i in range(50):
        clock.seen(P1, "cgm", T0 + timedelta(minutes=5 * i))
    last = T0 + timedelta(minutes=5 * 49)
    clock.seen(P1, "scale", last)  # the patient still measures: only the device is silent
    clock.seen(P1, "scale", last + timedelta(hours=20))
    assert clock.check(last + timedelta(hours=12)) == []
    found = clock.check(last + timedelta(hours=25))
    assert [f.cause for f in found] == ["device_silent"]
    assert "silent for 25.0 hours" in found[0].explanation.sentence
    assert clock.check(last + timedelta(hours=30)) == []


def test_a_patient_silent_on_every_device_is_one_gap_told_once() -> None:
    """The CGM and the cuff stop together (a phone off, a stay away): one missed-measurements
    finding when the CGM's day of silence is up, none at 72 h, none when the cuff is back and
    the CGM still quiet (its silence was told); a new silence of the CGM alone is its own."""
    clock = MissingData()
    for i in range(50):
        clock.seen("p", "cgm", T0 + timedelta(minutes=5 * i))
    last = T0 + timedelta(minutes=5 * 49)
    clock.seen("p", "cuff", last - timedelta(hours=3))
    clock.seen("p", "cuff", last + timedelta(minutes=20))  # within the hour: went quiet together
    assert clock.check(last + timedelta(hours=20)) == []
    [found] = clock.check(last + timedelta(hours=25))
    assert found.cause == "missed_measurements"
    assert found.explanation.details == {"unit": "hours", "continuous_device": "cgm"}
    assert "No readings for 1.0 days" in found.explanation.sentence
    assert "cgm, which usually reports every 5 minutes" in found.explanation.sentence
    assert clock.check(last + timedelta(hours=30)) == []
    assert clock.check(last + timedelta(hours=80)) == []  # the same gap: not told again at 72 h
    clock.seen("p", "cuff", last + timedelta(hours=81))
    assert clock.check(last + timedelta(hours=82)) == []
    back = last + timedelta(hours=90)
    for i in range(10):
        clock.seen("p", "cgm", back + timedelta(minutes=5 * i))
    clock.seen("p", "cuff", back + timedelta(hours=12))  # the patient measures; the CGM does not
    [device] = clock.check(back + timedelta(hours=25))
    assert (device.cause, device.explanation.details["device_id"]) == ("device_silent", "cgm")


def test_crisis_readings_stay_out_of_the_weekly_bp_average() -> None:
    from vigil.streaming.trends import HomeBPAverage

    plan = CarePlan.default_for({"hypertension"})
    det = HomeBPAverage()
    values = [128, 130, 192, 188, 129, 131, 127, 130]  # a crisis on day 2 among normal days
    causes = feed(
        det,
        [obs(Metric.BP_SYSTOLIC, v, timedelta(hours=12 * i), plan) for i, v in enumerate(values)],
    )
    assert set(causes) == {""}
    assert len(det.sys) == 6
