"""Personal bands for every vital where one is clinically sound, and a heart rate judged
against activity (issue 27): real sequences through the engine, as a wearable sends them."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from vigil.clinical import CarePlan
from vigil.clinical.findings import Finding, Severity
from vigil.clinical.wording import explain
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.streaming import StreamEngine
from vigil.streaming.baseline import RestingHeartRateAboveUsual
from vigil.streaming.forecast import PredictedLow
from vigil.streaming.trends import WeightGain

DAY0 = datetime(2026, 1, 5, tzinfo=UTC)
HF = CarePlan.default_for({"heart_failure"})


def at(day: int, hour: float, minute: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def reading(patient: UUID, t: datetime, metric: Metric, value: float) -> StoredReading:
    return StoredReading(t, patient, metric, value, "watch-1", t)


def wearable(
    patient: UUID, start: datetime, minutes: int, rate: float, steps: float | None
) -> list[StoredReading]:
    """A watch's heart rate (and, when it counts them, steps per minute) every 5 minutes."""
    out = []
    for m in range(0, minutes, 5):
        t = start + timedelta(minutes=m)
        out.append(reading(patient, t, Metric.HEART_RATE, rate + (m // 5) % 3 - 1))
        if steps is not None:
            out.append(reading(patient, t, Metric.STEPS, steps))
    return out


def usual_60(patient: UUID, *, steps: bool = True) -> list[StoredReading]:
    """Six days of a resting heart rate about 60/min, all day, the watch counting few steps."""
    out: list[StoredReading] = []
    for day in range(6):
        out += wearable(patient, at(day, 0), 24 * 60, 60.0, 4.0 if steps else None)
    return out


def engine() -> StreamEngine:
    return StreamEngine(plan_for=lambda _p: HF)


def causes(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.cause, f.detector) for f in found]


def test_a_run_raising_the_heart_rate_is_exercise_not_tachycardia() -> None:
    patient = uuid4()
    e = engine()
    assert e.process(usual_60(patient)) == []
    # An hour's run at 135-150/min, 150 steps a minute: over the 120/min rule for an hour.
    run = wearable(patient, at(6, 17), 60, 140.0, 150.0)
    assert e.process(run) == []
    # Recovery: still 110/min for 20 minutes after the last step, then back to 62.
    assert e.process(wearable(patient, at(6, 18), 20, 110.0, 0.0)) == []
    assert e.process(wearable(patient, at(6, 18, 20), 60, 62.0, 0.0)) == []


def test_the_same_run_without_steps_is_tachycardia() -> None:
    """What the steps change: the same heart rates from a watch that does not count steps."""
    patient = uuid4()
    e = engine()
    e.process(usual_60(patient, steps=False))
    found = e.process(wearable(patient, at(6, 17), 60, 140.0, None))
    assert ("tachycardia", "heart_rate") in causes(found)


def test_the_same_rate_at_rest_alerts_against_a_usual_of_60() -> None:
    patient = uuid4()
    e = engine()
    e.process(usual_60(patient))
    # 110/min sitting still for 45 minutes: under the population's 120/min, 50 over this
    # patient's usual at this time of day.
    found = e.process(wearable(patient, at(6, 20), 45, 110.0, 0.0))
    assert {(f.cause, f.detector) for f in found} == {("tachycardia", "resting_heart_rate")}
    f = found[0]  # 30 minutes in (then one a reading: the alert stage keeps one episode)
    assert f.time == at(6, 20, 30)
    assert (f.cause, f.detector, f.severity) == ("tachycardia", "resting_heart_rate", Severity.HIGH)
    x = f.explanation
    assert x.baseline is not None
    # 59-61 learned; the sixth raised reading in a row counts as a new normal (the "unusual"
    # rule's) and enters the baseline once: 0.9 * 59 + 0.1 * 110.
    assert 59 <= x.baseline <= 64.2
    assert x.threshold == max(100.0, x.baseline + 30)
    assert x.details["lasted_s"] >= 30 * 60
    assert "above this patient's usual 64/min in the evening" in x.sentence
    assert "This patient's heart rate in the evening is usually around 64/min." in x.sentence
    assert explain(dataclasses.asdict(x), cause=f.cause, detector=f.detector, lang="en") == (
        "Heart rate 109/min at rest for 30 minutes, 45/min above this patient's usual 64/min "
        "(at or above 100/min). This patient's heart rate in the evening is usually around "
        "64/min."
    )
    ko = explain(dataclasses.asdict(x), cause=f.cause, detector=f.detector, lang="ko")
    assert ko.startswith("안정 시 심박수 109/min, 이 환자의 평소(64/min)보다 45/min 높은")
    assert "이 환자의 저녁 심박수는 보통 64/min 정도입니다." in ko
    # And the same 110/min while walking: nothing.
    other = uuid4()
    e.process(usual_60(other))
    assert e.process(wearable(other, at(6, 20), 45, 110.0, 110.0)) == []


def test_a_raised_rate_at_rest_for_a_patient_whose_usual_is_high_is_not_above_usual() -> None:
    patient = uuid4()
    e = engine()
    for day in range(6):
        e.process(wearable(patient, at(day, 0), 24 * 60, 88.0, 4.0))
    # 110 at rest is 22 over a usual 88: under the 30/min rule, and under the 120/min one.
    assert e.process(wearable(patient, at(6, 20), 60, 110.0, 0.0)) == []


def test_the_resting_baseline_does_not_learn_exercise() -> None:
    patient = uuid4()
    e = engine()
    e.process(usual_60(patient))
    for day in range(6, 12):  # an evening run every day
        e.process(wearable(patient, at(day, 18), 60, 140.0, 150.0))
    found = e.process(wearable(patient, at(12, 20), 45, 110.0, 0.0))
    assert {f.detector for f in found} == {"resting_heart_rate"}
    assert found[0].explanation.baseline is not None
    assert found[0].explanation.baseline < 65  # the runs at 140 stayed out


def test_until_the_usual_rate_is_known_nothing_is_said() -> None:
    e = engine()
    assert e.process(wearable(uuid4(), at(0, 20), 60, 110.0, 0.0)) == []


def thermometer(patient: UUID, days: int, value: float) -> list[StoredReading]:
    return [
        StoredReading(at(d, 8), patient, Metric.BODY_TEMPERATURE, value + (d % 3 - 1) / 10,
                      "thermo-1", at(d, 8))
        for d in range(days)
    ]  # fmt: skip


def test_a_temperature_over_a_cool_patients_usual_is_a_fever_below_38() -> None:
    cool, warm = uuid4(), uuid4()
    e = engine()
    e.process(thermometer(cool, 10, 36.2) + thermometer(warm, 10, 36.9))
    t = at(10, 8)
    [f] = e.process([StoredReading(t, cool, Metric.BODY_TEMPERATURE, 37.4, "thermo-1", t)])
    assert (f.cause, f.detector, f.severity) == ("fever", "temperature_baseline", Severity.WARNING)
    x = f.explanation
    assert "1.2°C above this patient's usual 36.2°C" in x.sentence
    assert explain(dataclasses.asdict(x), cause=f.cause, detector=f.detector, lang="ko").startswith(
        "체온 37.4°C, 이 환자의 평소(36.2°C)보다 1.2°C 높습니다(기준 37.3°C 이상)."
    )
    # The same 37.4 for a patient usually at 36.9: within 1.1 °C of the usual.
    assert e.process([StoredReading(t, warm, Metric.BODY_TEMPERATURE, 37.4, "thermo-1", t)]) == []
    # 38.2 is the fever rule's, once (not a second finding from the personal band).
    t2 = at(11, 8)
    found = e.process([StoredReading(t2, cool, Metric.BODY_TEMPERATURE, 38.2, "thermo-1", t2)])
    assert causes(found) == [("fever", "fever")]


def test_detectors_are_built_for_the_metrics_a_patient_sends() -> None:
    e = engine()
    scale = uuid4()
    e.process([StoredReading(at(0, 7), scale, Metric.BODY_WEIGHT, 80.0, "scale-1", at(0, 7))])
    own = [type(d) for d in e.patients[scale].detectors if d is not None]
    assert WeightGain in own
    assert PredictedLow not in own
    assert RestingHeartRateAboveUsual not in own


def test_a_patients_state_pickles_compactly_and_scores_the_same_after() -> None:
    patient = uuid4()
    e = engine()
    e.process(usual_60(patient))
    blob = pickle.dumps(e.patients[patient])
    assert len(blob) < 2048  # a watch patient's detectors, baselines and latest values
    restored = engine()
    restored.patients[patient] = pickle.loads(blob)  # noqa: S301
    rest = wearable(patient, at(6, 20), 45, 110.0, 0.0)
    assert [f.explanation for f in e.process(rest)] == [
        f.explanation for f in restored.process(rest)
    ]


def test_a_watch_taken_off_for_a_day_is_not_a_silent_device_as_a_cgm_is() -> None:
    e = engine()
    watch, cgm = uuid4(), uuid4()
    for patient, metric, device, value in (
        (watch, Metric.HEART_RATE, "watch-1", 62.0),
        (cgm, Metric.GLUCOSE, "cgm-1", 120.0),
    ):
        # A day of the continuous device every 5 minutes, and a cuff twice a day for three.
        e.process([StoredReading(at(0, 0, 5 * i), patient, metric, value, device, at(0, 0, 5 * i))
                   for i in range(288)])  # fmt: skip
        for day in range(3):
            for hour in (8, 20):
                t = at(day, hour)
                e.process([StoredReading(t, patient, Metric.BP_SYSTOLIC, 124.0, "cuff-1", t)])
    found = [f for hour in range(24, 72) for f in e.tick(at(0, hour))]
    silent = [(f.patient_id, f.explanation.details.get("device_id")) for f in found]
    assert silent == [(cgm, "cgm-1")]  # the CGM off for two days; the watch: not told
    assert all(f.cause == "device_silent" for f in found)


def test_a_watch_quiet_with_everything_else_is_still_the_patients_gap() -> None:
    e = engine()
    patient = uuid4()
    e.process(wearable(patient, at(0, 0), 24 * 60, 62.0, 4.0))
    found = [f for hour in range(24, 50) for f in e.tick(at(0, hour))]
    assert [f.cause for f in found] == ["missed_measurements"]
