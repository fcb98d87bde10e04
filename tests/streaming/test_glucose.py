"""Confirmation where CGM noise lives: an urgent low from a stream needs a second reading (or
a very low value), a predicted low needs the fall to go on."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import timedelta

from tests.streaming.test_detectors import feed, obs

from vigil.clinical import CarePlan
from vigil.clinical.wording import explain
from vigil.core.metrics import Metric
from vigil.streaming.forecast import PredictedLow
from vigil.streaming.thresholds import GlucoseOutOfRange

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
    assert "near 54 mg/dL (urgent low): urgent once the next reading" in (
        pending.explanation.sentence
    )
    assert pending.explanation.details["urgent_unconfirmed"] is True
    assert pending.explanation.details["code"] == "near_urgent_low"
    assert pending.severity.name == "HIGH"


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


def test_two_noisy_points_below_54_about_a_steady_62_are_not_critical() -> None:
    """Two readings below 54 within 15 minutes, but the noise-aware level, which has seen an
    hour at 62, stays above 54: the alert stays high and says glucose is near 54."""
    causes = feed(GlucoseOutOfRange(), cgm([62] * 8 + [52, 53, 62, 61]))
    assert set(causes) == {"hypoglycemia"}
    # The same two readings at the end of a fall are a confirmed urgent low.
    assert feed(GlucoseOutOfRange(), cgm([80, 70, 60, 52, 48]))[-1] == "hypoglycemia_urgent"


def test_falling_just_above_54_is_not_critical() -> None:
    """The old rule called a CGM falling at 57-59 urgent (the blood glucose, 10 minutes ahead,
    below 54): on noisy sensors that paged at a true 62-89. Critical needs a reading below 54."""
    causes = feed(GlucoseOutOfRange(), cgm([75, 68, 63, 59, 57, 56, 55]))
    assert "hypoglycemia_urgent" not in causes
    assert causes[-1] == "hypoglycemia"


def test_a_steady_fall_is_predicted_with_its_uncertainty() -> None:
    stream = cgm([130, 120, 110, 100, 90, 82, 74])
    assert feed(PredictedLow(), stream)[-1] == "predicted_low"
    det = PredictedLow()
    for o in stream[:-1]:
        det.learn_one(o)
    found = det.score_one(stream[-1])
    assert found is not None
    details = found.explanation.details
    assert details["code"] == "urgent_low_soon"
    assert details["upper_mg_dl"] < 54 < details["level_mg_dl"]
    assert details["rate_mg_dl_per_min"] < -1.5
    assert "likely below 54 mg/dL (urgent low)" in found.explanation.sentence


def test_one_noisy_dive_is_not_a_fall() -> None:
    """An hour at 120, one reading at 92, back at 120, then another dive to 84: a line through
    the last readings falls steeply; the filter's level and rate hardly move."""
    causes = feed(PredictedLow(), cgm([120] * 6 + [92, 120, 119, 84]))
    assert set(causes) == {""}


def test_urgent_low_soon_counts_the_sensor_lag_and_waits_below_85() -> None:
    """The blood glucose runs about 10 minutes ahead of the sensor: without it the same fall is
    not predicted; and nothing is predicted above 85 however steep the fall."""
    falling = cgm([130, 122, 114, 106, 98, 90, 83, 76])  # 1.6 mg/dL per minute
    no_lag = PredictedLow()
    no_lag.lag_s = 0.0
    assert set(feed(no_lag, falling)) == {""}
    assert feed(PredictedLow(), falling)[-2:] == ["predicted_low"] * 2
    assert feed(PredictedLow(), cgm([150, 140, 130, 120, 110, 100, 90])) == [""] * 7


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


def _drifting(sd: float, n: int = 300) -> list[float]:
    """A sensor's readings about a steady 100 mg/dL: an AR(1) drift of SD ``sd`` lasting about
    40 minutes (simglucose's sensors) and 2 mg/dL of white noise."""
    rng = random.Random(5)
    a, e, values = math.exp(-5 / 40), 0.0, []
    for _ in range(n):
        e = a * e + rng.gauss(0, sd * math.sqrt(1 - a * a))
        values.append(100 + e + rng.gauss(0, 2))
    return values


FALL = [92, 84, 76, 68, 61, 55, 51, 49, 47, 46, 45]


def test_a_drifting_sensor_pages_a_low_that_outlasts_a_drift() -> None:
    """A sensor learned to drift (SD 12): two readings below 54 five minutes apart could be a
    drift; the page waits until readings below 54 span 10 minutes. A quiet sensor pages on the
    second reading, as before."""
    det = GlucoseOutOfRange()
    stream = cgm(_drifting(12.0) + FALL)
    feed(det, stream[: -len(FALL)])
    drifting, held = [], None
    for o in stream[-len(FALL) :]:
        found = det.score_one(o)
        det.learn_one(o)
        drifting.append(found.cause if found else "")
        if o.value == 49:  # the second reading below 54, 5 minutes after the first
            held = found
    assert held is not None
    assert held.explanation.details["held"] == "drift"
    assert "this sensor drifts by about 1" in held.explanation.sentence
    e = dataclasses.asdict(held.explanation)
    ko = explain(e, cause=held.cause, detector=held.detector, lang="ko")
    assert "이 센서는 최대 45분 동안" in ko
    assert "10분 동안 54 mg/dL 미만이 이어지고" in ko
    quiet = feed(GlucoseOutOfRange(), cgm(_drifting(0.5) + FALL))[-len(FALL) :]
    first_below = FALL.index(51)
    assert quiet.index("hypoglycemia_urgent") == first_below + 1
    assert drifting.index("hypoglycemia_urgent") == first_below + 2
    assert set(drifting[first_below : first_below + 2]) == {"hypoglycemia"}
