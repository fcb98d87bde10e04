from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from vigil.clinical import CarePlan
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.streaming import StreamEngine

T0 = datetime(2026, 1, 5, 8, tzinfo=UTC)


def r(patient, metric, value, hours, received_delay_h=0.0, device="dev-1"):  # type: ignore[no-untyped-def]
    t = T0 + timedelta(hours=hours)
    return StoredReading(t, patient, metric, value, device, t + timedelta(hours=received_delay_h))


def copd_engine() -> StreamEngine:
    return StreamEngine(plan_for=lambda _p: CarePlan.default_for({"copd"}))


def test_restore_rebuilds_baseline_without_findings() -> None:
    patient = uuid4()
    history = [r(patient, Metric.SPO2, 94 + (i % 2), 12 * i) for i in range(20)]
    history.append(r(patient, Metric.SPO2, 85, 241))  # an old alarm must not re-fire
    restored = copd_engine()
    assert restored.restore(history) == 21
    fresh = copd_engine()
    # After a restart, a drop below the personal baseline is recognised at once.
    drop = [r(patient, Metric.SPO2, 90, 250), r(patient, Metric.SPO2, 90, 262)]
    assert [f.cause for f in restored.process(drop)] == ["copd_exacerbation"]
    assert fresh.process(drop) == []


def test_alarming_readings_do_not_become_the_baseline() -> None:
    patient = uuid4()
    engine = copd_engine()
    engine.process([r(patient, Metric.SPO2, 94, 12 * i) for i in range(10)])
    causes = []
    for i in range(10, 20):  # a long exacerbation at 90 %
        causes += [f.cause for f in engine.process([r(patient, Metric.SPO2, 90, 12 * i)])]
    assert causes.count("copd_exacerbation") >= 8


def test_late_reading_is_scored_with_its_age() -> None:
    patient = uuid4()
    engine = StreamEngine(plan_for=lambda _p: CarePlan.default_for({"t1d"}))
    engine.process([r(patient, Metric.GLUCOSE, 120, 10)])
    late = engine.process([r(patient, Metric.GLUCOSE, 48, 2, received_delay_h=8)])
    assert [f.cause for f in late] == ["hypoglycemia_urgent"]
    assert late[0].age_s == 8 * 3600
    assert "uploaded late" in late[0].explanation.sentence


def test_blood_pressure_pair_gives_one_crisis_finding() -> None:
    patient = uuid4()
    engine = StreamEngine(plan_for=lambda _p: CarePlan.default_for({"hypertension"}))
    found = engine.process(
        [r(patient, Metric.BP_SYSTOLIC, 186, 1), r(patient, Metric.BP_DIASTOLIC, 124, 1)]
    )
    crisis = [f for f in found if f.cause == "hypertensive_crisis"]
    assert len(crisis) == 1
    assert "186/124 mmHg" in crisis[0].explanation.sentence


def test_care_plan_change_applies_to_next_reading() -> None:
    patient = uuid4()
    engine = StreamEngine(plan_for=lambda _p: CarePlan.default_for(set()))
    assert engine.process([r(patient, Metric.SPO2, 91, 1)]) == []
    engine.set_care_plan(patient, CarePlan.from_stored(set(), {"spo2": {"low": 92}}, None))
    assert [f.cause for f in engine.process([r(patient, Metric.SPO2, 91, 2)])] == ["spo2_low"]


def test_missing_data_is_driven_by_the_clock() -> None:
    patient = uuid4()
    engine = copd_engine()
    engine.process([r(patient, Metric.SPO2, 94, 0)])
    assert engine.tick(T0 + timedelta(hours=24)) == []
    assert engine.tick(T0 + timedelta(hours=60)) == []
    found = engine.tick(T0 + timedelta(hours=76))
    assert [f.cause for f in found] == ["missed_measurements"]
    assert "No readings for 3.2 days" in found[0].explanation.sentence


def test_late_blood_pressure_pair_is_scored_as_one_measurement() -> None:
    patient = uuid4()
    engine = StreamEngine(plan_for=lambda _p: CarePlan.default_for({"hypertension"}))
    engine.process(
        [r(patient, Metric.BP_SYSTOLIC, 128, 20), r(patient, Metric.BP_DIASTOLIC, 80, 20)]
    )
    late = engine.process(
        [
            r(patient, Metric.BP_SYSTOLIC, 191, 3, received_delay_h=18),
            r(patient, Metric.BP_DIASTOLIC, 122, 3, received_delay_h=18),
        ]
    )
    crisis = [f for f in late if f.cause == "hypertensive_crisis"]
    assert len(crisis) == 1
    assert "191/122 mmHg" in crisis[0].explanation.sentence
    assert crisis[0].age_s == 18 * 3600
    # The late pair did not replace the newest values the next reading is paired with.
    assert engine.patients[patient].latest[Metric.BP_SYSTOLIC][1] == 128


def test_weekly_bp_average_goes_quiet_once_the_last_day_is_back_at_target() -> None:
    patient = uuid4()
    engine = StreamEngine(plan_for=lambda _p: CarePlan.default_for({"hypertension"}))

    def cuff(sys: float, dia: float, hours: float) -> list[StoredReading]:
        return [
            r(patient, Metric.BP_SYSTOLIC, sys, hours),
            r(patient, Metric.BP_DIASTOLIC, dia, hours),
        ]

    high = [f.cause for i in range(14) for f in engine.process(cuff(148, 92, 12 * i))]
    assert high.count("bp_above_target") >= 6  # a week of 148/92: the average is above target
    # Back to 124/78: the 7-day average stays above 135/85 for days, the last day's does not.
    after = [f.cause for i in range(14, 20) for f in engine.process(cuff(124, 78, 12 * i))]
    assert after.count("bp_above_target") <= 1  # at most the first normal reading's day


def test_a_batch_of_several_patients_is_one_message_each_in_time_order() -> None:
    """A batch is grouped and ordered by patient and time, each patient's state and clock
    looked up once for a run of their readings: shuffled, with equal patient ids that are not
    the same object, it leaves the same findings and state as one message a reading, oldest
    first."""
    import random
    from uuid import UUID

    patients = [uuid4() for _ in range(3)]
    readings = []
    for i in range(40):
        for n, p in enumerate(patients):
            pid = p if i % 2 else UUID(str(p))  # equal, not identical
            readings.append(r(pid, Metric.HEART_RATE, 70 + (i % 5) + 50 * (i > 30), i + n / 10))
            readings.append(r(pid, Metric.SPO2, 95 - (i > 32) * 8, i + n / 10 + 0.5, device="ox"))
    plan = CarePlan.default_for({"copd"})
    one_by_one = StreamEngine(plan_for=lambda _p: plan)
    expected = [f for reading in readings for f in one_by_one.process([reading])]
    batched = StreamEngine(plan_for=lambda _p: plan)
    shuffled = list(readings)
    random.Random(1).shuffle(shuffled)
    found = batched.process(shuffled)
    key = lambda f: (str(f.patient_id), f.time, f.cause)  # noqa: E731
    assert len(expected) > 3
    assert sorted(map(key, found)) == sorted(map(key, expected))
    for p in patients:
        ours, theirs = batched.patients[p], one_by_one.patients[p]
        assert ours.latest == theirs.latest
        assert ours.usual.data == theirs.usual.data
        assert batched.missing.patients[p] == one_by_one.missing.patients[p]
