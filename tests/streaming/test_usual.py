"""Personal baselines: what is usual for this patient, by part of their day, in every finding's
explanation (English and Korean), rebuilt by replay, and the optional "unusual" finding."""

from __future__ import annotations

import dataclasses
import doctest
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from vigil.clinical import CarePlan
from vigil.clinical.findings import Severity
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.streaming import StreamEngine, usual
from vigil.streaming.usual import PersonalBaselines

DAY0 = datetime(2026, 1, 5, tzinfo=UTC)


def bp(patient, day, hour, systolic, diastolic, zone=UTC):  # type: ignore[no-untyped-def]
    t = (DAY0 + timedelta(days=day, hours=hour)).replace(tzinfo=zone).astimezone(UTC)
    return [
        StoredReading(t, patient, Metric.BP_SYSTOLIC, systolic, "cuff", t),
        StoredReading(t, patient, Metric.BP_DIASTOLIC, diastolic, "cuff", t),
    ]


def hypertension_engine(zone=UTC, **kw):  # type: ignore[no-untyped-def]
    plan = dataclasses.replace(CarePlan.default_for({"hypertension"}), time_zone=zone)
    return StreamEngine(plan_for=lambda _p: plan, **kw)


def history(patient, zone=UTC):  # type: ignore[no-untyped-def]
    """Ten days of a morning surge: 118/76 at 8 h, 104/66 at 21 h, local time."""
    readings = []
    for day in range(10):
        readings += bp(patient, day, 8, 118 + day % 2, 76, zone)
        readings += bp(patient, day, 21, 104, 66, zone)
    return readings


def test_doctests() -> None:
    assert doctest.testmod(usual).failed == 0


def test_every_alert_says_what_is_usual_at_that_time_of_day() -> None:
    patient = uuid4()
    engine = hypertension_engine()
    assert engine.process(history(patient)) == []
    [crisis] = engine.process(bp(patient, 10, 8, 186, 124))
    e = crisis.explanation
    assert e.sentence.startswith("Blood pressure 186/124 mmHg")
    assert e.sentence.endswith("This patient's mornings are usually around 118/76 mmHg.")
    assert e.details["usual"]["ko"] == "이 환자의 아침 혈압은 보통 118/76 mmHg 정도입니다."
    assert e.details["usual"]["values"]["bp_systolic"]["part"] == "morning"
    [evening] = engine.process(bp(patient, 10, 21, 190, 100))
    assert "evenings are usually around 104/66 mmHg" in evening.explanation.sentence


def test_the_part_of_day_is_the_patients_local_time() -> None:
    seoul = timezone(timedelta(hours=9))
    patient = uuid4()
    engine = hypertension_engine(seoul)
    engine.process(history(patient, seoul))
    # 08:00 in Seoul is 23:00 UTC the day before: still this patient's morning.
    [crisis] = engine.process(bp(patient, 10, 8, 186, 124, seoul))
    assert crisis.time.hour == 23
    assert "mornings are usually around 118/76" in crisis.explanation.sentence


def test_a_new_patient_is_told_apart_from_a_usual_one() -> None:
    [crisis] = hypertension_engine().process(bp(uuid4(), 0, 8, 186, 124))
    assert "Not enough of this patient's readings yet" in crisis.explanation.sentence
    assert crisis.explanation.details["usual"]["values"] == {}


def test_baselines_survive_a_restart_by_replay() -> None:
    patient = uuid4()
    before, after = hypertension_engine(), hypertension_engine()
    before.process(history(patient))
    assert after.restore(history(patient)) == 40  # the detect worker's replay: no findings
    crisis = bp(patient, 10, 8, 186, 124)
    [a], [b] = before.process(crisis), after.process(crisis)
    assert a.explanation == b.explanation
    assert "mornings are usually around 118/76" in b.explanation.sentence


def test_alarming_readings_stay_out_of_the_baseline() -> None:
    patient = uuid4()
    engine = hypertension_engine()
    engine.process(history(patient))
    for day in range(10, 14):
        engine.process(bp(patient, day, 8, 186, 124))
    [crisis] = engine.process(bp(patient, 14, 8, 186, 124))
    assert "mornings are usually around 118/76" in crisis.explanation.sentence


def test_a_dense_stream_is_thinned_to_one_reading_per_slot() -> None:
    b = PersonalBaselines()
    t0 = DAY0 + timedelta(hours=14)
    for minute in range(0, 60 * 24 * 3, 5):  # a wearable every 5 minutes for 3 days
        b.learn(Metric.HEART_RATE, t0 + timedelta(minutes=minute), 70.0, UTC)
    assert b.count(Metric.HEART_RATE) == 3 * 48


def test_unusual_for_this_patient_is_off_by_default_and_needs_two_readings() -> None:
    patient = uuid4()
    plain, unusual = hypertension_engine(), hypertension_engine(unusual=True)
    for engine in (plain, unusual):
        engine.process(history(patient))
    high = [*bp(patient, 10, 8, 150, 92), *bp(patient, 10, 9, 152, 93)]
    assert plain.process(high) == []
    found = [unusual.process(high[:2]), unusual.process(high[2:])]
    assert found[0] == []  # one odd reading is noise
    assert {f.cause for f in found[1]} == {"unusual_for_patient"}
    f = found[1][0]
    assert f.severity is Severity.INFO
    # Systolic and diastolic are both unusual: one finding for the measurement (the first).
    assert len(found[1]) == 1
    assert f.explanation.sentence.startswith("Diastolic blood pressure 93 mmHg, 17 mmHg above")
    assert "diastolic blood pressure in the morning is usually around 76 mmHg" in (
        f.explanation.sentence
    )


def test_glucose_has_a_baseline_but_is_never_unusual() -> None:
    patient = uuid4()
    engine = StreamEngine(plan_for=lambda _p: CarePlan.default_for({"t1d"}), unusual=True)
    readings = [
        StoredReading(t, patient, Metric.GLUCOSE, 110.0, "cgm", t)
        for t in (DAY0 + timedelta(minutes=30 * i) for i in range(48 * 6))
    ]
    engine.process(readings)
    later = DAY0 + timedelta(days=6, hours=8)
    meal = [StoredReading(later + timedelta(minutes=5 * i), patient, Metric.GLUCOSE, 230.0,
                          "cgm", later + timedelta(minutes=5 * i)) for i in range(4)]  # fmt: skip
    assert engine.process(meal) == []
    [low] = engine.process([StoredReading(later + timedelta(hours=1), patient, Metric.GLUCOSE,
                                          62.0, "cgm", later + timedelta(hours=1))])  # fmt: skip
    assert low.cause == "hypoglycemia"
    # The meal is learned (one reading of its half hour): 0.9 * 110 + 0.1 * 230.
    assert "glucose in the morning is usually around 122 mg/dL" in low.explanation.sentence
