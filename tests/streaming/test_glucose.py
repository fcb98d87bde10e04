"""Confirmation where CGM noise lives: an urgent low from a stream needs a second reading (or
a very low value), a predicted low needs the fall to go on."""

from __future__ import annotations

from datetime import timedelta

from tests.streaming.test_detectors import feed, obs

from vigil.clinical import CarePlan
from vigil.core.metrics import Metric
from vigil.streaming.thresholds import GlucoseOutOfRange
from vigil.streaming.trends import PredictedLow

T1D = CarePlan.default_for({"t1d"})


def cgm(values: list[float], every_min: float = 5, start_min: float = 0) -> list:  # type: ignore[type-arg]
    return [
        obs(Metric.GLUCOSE, v, timedelta(minutes=start_min + every_min * i), T1D)
        for i, v in enumerate(values)
    ]


def test_one_cgm_point_below_54_is_a_low_until_the_next_confirms_it() -> None:
    det = GlucoseOutOfRange()
    stream = cgm([72, 66, 52, 50, 58])
    findings = []
    for o in stream:
        findings.append(det.score_one(o))
        det.learn_one(o)
    causes = [f.cause if f else "" for f in findings]
    assert causes == ["", "hypoglycemia", "hypoglycemia", "hypoglycemia_urgent", "hypoglycemia"]
    pending = findings[2]
    assert pending is not None
    assert "52 mg/dL" in pending.explanation.sentence
    assert "urgent if the next confirms" in pending.explanation.sentence
    assert pending.explanation.details["urgent_unconfirmed"] is True


def test_a_noisy_dip_that_recovers_is_never_urgent() -> None:
    assert "hypoglycemia_urgent" not in feed(GlucoseOutOfRange(), cgm([71, 53, 70, 72, 74, 52, 72]))


def test_two_readings_below_54_within_15_minutes_confirm() -> None:
    causes = feed(GlucoseOutOfRange(), cgm([60, 53, 55, 52]))  # 10 minutes apart
    assert causes == ["hypoglycemia", "hypoglycemia", "hypoglycemia", "hypoglycemia_urgent"]
    later = feed(GlucoseOutOfRange(), cgm([60, 53, 55, 56, 57, 52]))  # 20 minutes apart
    assert "hypoglycemia_urgent" not in later


def test_very_low_and_lone_readings_are_urgent_at_once() -> None:
    assert feed(GlucoseOutOfRange(), cgm([80, 39])) == ["", "hypoglycemia_urgent"]
    assert feed(GlucoseOutOfRange(), cgm([80, 40])) == ["", "hypoglycemia_urgent"]  # LOW
    # Finger-sticks hours apart: each reading stands alone.
    assert feed(GlucoseOutOfRange(), cgm([110, 50], every_min=240)) == ["", "hypoglycemia_urgent"]
    assert feed(GlucoseOutOfRange(), cgm([50])) == ["hypoglycemia_urgent"]


def test_a_steady_fall_is_predicted() -> None:
    causes = feed(PredictedLow(), cgm([120, 110, 100, 90, 80, 70]))
    assert "predicted_low" in causes


def test_a_fall_that_levels_off_is_not_a_predicted_low() -> None:
    """A fall slowing down: the 20-minute line reaches 54 within 30 minutes, the last 10
    minutes do not."""
    levelling = cgm([100, 92, 85, 80, 78])  # -1.1 mg/dL/min over 20 min, -0.7 over the last 10
    old_rule = PredictedLow()
    old_rule.recent_s = old_rule.lookback_s  # the 20-minute line alone
    assert feed(old_rule, levelling)[-1] == "predicted_low"
    assert feed(PredictedLow(), levelling)[-1] == ""


def test_urgent_low_soon_counts_the_sensor_lag_and_waits_below_85() -> None:
    """Falling 1.1 mg/dL per minute at 80: the sensor's line reaches 54 in 24 minutes, which
    the 10 minutes the blood runs ahead of the sensor bring within the 20 minutes. Without the
    lag it is not predicted; a steeper fall at 95-120 (after a meal) is not predicted at all
    until it reaches 85."""
    falling = cgm([97, 92, 86, 80])
    assert feed(PredictedLow(), falling)[-1] == "predicted_low"
    no_lag = PredictedLow()
    no_lag.lag_s = 0.0
    assert feed(no_lag, falling)[-1] == ""
    det = PredictedLow()
    for o in falling[:-1]:
        det.learn_one(o)
    found = det.score_one(falling[-1])
    assert found is not None
    assert "10 minutes ahead of the sensor" in found.explanation.sentence
    assert found.explanation.details["predicted_mg_dl"] < 54
    high = feed(PredictedLow(), cgm([140, 130, 120, 110, 100, 90, 84]))
    assert high[:-1] == [""] * 6
    assert high[-1] == "predicted_low"


def test_censored_low_and_high_are_shown_as_the_cgm_showed_them() -> None:
    from dataclasses import replace

    det = GlucoseOutOfRange(very_low=30.0)  # 40 alone would not be urgent at once here
    before, low = cgm([60, 40])
    det.learn_one(before)
    plain = det.score_one(low)
    assert plain is not None
    assert plain.cause == "hypoglycemia"
    marked = det.score_one(replace(low, censored="below"))
    assert marked is not None
    assert marked.cause == "hypoglycemia_urgent"
    assert marked.explanation.sentence.startswith("Glucose LOW")
    assert "Glucose 40" not in marked.explanation.sentence
    high = det.score_one(replace(cgm([400])[0], censored="above"))
    assert high is not None
    assert high.cause == "hyperglycemia"
    assert high.explanation.sentence.startswith("Glucose HIGH")


def test_a_compression_step_is_neither_a_predicted_nor_a_real_low() -> None:
    """Lying on the sensor: a sudden 45 mg/dL step down (9 mg/dL per minute, which blood
    glucose does not do), a plateau, then back. Neither detector calls it a low; a real fall
    of the same depth at 2 mg/dL per minute is called by both."""
    compression = cgm([112, 111, 113, 112, 67, 66, 68, 66, 65, 67, 112, 113])
    assert set(feed(PredictedLow(), compression)) == {""}
    assert set(feed(GlucoseOutOfRange(), compression)) == {""}
    real = cgm([112, 102, 92, 82, 72, 66, 62, 60])
    assert "predicted_low" in feed(PredictedLow(), real)
    assert "hypoglycemia" in feed(GlucoseOutOfRange(), real)


def test_a_compression_low_is_set_aside_for_an_hour_at_most() -> None:
    """A low that stays after a step down is reported once the hold is over; LOW at once."""
    stuck = cgm([110, 66] + [66] * 14)  # 70 minutes after the step
    causes = feed(GlucoseOutOfRange(), stuck)
    assert causes[:13] == [""] * 13  # up to 60 minutes after the step
    assert causes[-1] == "hypoglycemia"
    assert feed(GlucoseOutOfRange(), cgm([100, 40])) == ["", "hypoglycemia_urgent"]


def test_falling_just_above_54_is_urgent_after_the_sensor_lag() -> None:
    """Blood glucose leads the CGM by about 10 minutes: falling 1 mg/dL per minute at 57-59,
    two readings in a row, blood glucose is already below 54 (a shallow level-2 low the CGM
    never shows below 54). Levelled off at the same values, it is not."""
    falling = feed(GlucoseOutOfRange(), cgm([75, 68, 63, 59, 57]))
    assert falling[-2:] == ["hypoglycemia", "hypoglycemia_urgent"]
    det = GlucoseOutOfRange()
    stream = cgm([75, 68, 63, 59, 57])
    for o in stream[:-1]:
        det.learn_one(o)
    urgent = det.score_one(stream[-1])
    assert urgent is not None
    assert "lags blood glucose" in urgent.explanation.sentence
    assert "57 mg/dL" in urgent.explanation.sentence
    levelled = feed(GlucoseOutOfRange(), cgm([59, 58, 59, 57, 58, 57, 58]))
    assert "hypoglycemia_urgent" not in levelled
    no_lag = feed(GlucoseOutOfRange(lag=timedelta(0)), cgm([75, 68, 63, 59, 57]))
    assert "hypoglycemia_urgent" not in no_lag
