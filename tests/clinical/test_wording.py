"""Findings worded at read time: each kind's exact sentence in Korean and English, from the
findings the real detectors make (values as clinicians write them, no sentence contradicting
its numbers), and a stored explanation without a code shown as it was stored."""

from __future__ import annotations

import doctest
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from vigil.clinical import display, wording
from vigil.clinical.careplan import CarePlan
from vigil.clinical.findings import Finding
from vigil.core.metrics import Metric
from vigil.streaming.base import Observation
from vigil.streaming.thresholds import (
    Fever,
    GlucoseOutOfRange,
    HeartRateOutOfRange,
    HypertensiveCrisis,
    SpO2Low,
)

T0 = datetime(2026, 12, 7, 8, tzinfo=UTC)
HANGUL = re.compile("[\uac00-\ud7a3]")


def test_doctests() -> None:
    assert doctest.testmod(wording).failed == 0
    assert doctest.testmod(display).failed == 0


def observe(
    metric: Metric,
    value: float,
    *,
    conditions: frozenset[str] = frozenset({"hypertension"}),
    at: datetime = T0,
    received: datetime | None = None,
    latest: dict[Metric, tuple[datetime, float]] | None = None,
    censored: Any = None,
) -> Observation:
    return Observation(
        uuid4(),
        at,
        metric,
        value,
        "dev-1",
        received or at,
        CarePlan.default_for(set(conditions)),
        {**(latest or {}), metric: (at, value)},
        censored,
    )


def stored(f: Finding | None, **extra: Any) -> dict[str, Any]:
    """The explanation as the alert keeps it (JSON), as the API reads it back."""
    assert f is not None
    data = asdict(f.explanation)
    data.pop("contributing")
    return {**data, **extra}


def both(e: dict[str, Any], cause: str = "", detector: str = "") -> tuple[str, str]:
    return (
        wording.explain(e, cause=cause, detector=detector, lang="ko"),
        wording.explain(e, cause=cause, detector=detector, lang="en"),
    )


def test_crisis_names_the_reading_as_systolic_over_diastolic_whichever_side_crossed() -> None:
    # The diastolic reading arrives second and is the one over 120: still "195/109"-style.
    obs = observe(Metric.BP_DIASTOLIC, 125.0, latest={Metric.BP_SYSTOLIC: (T0, 190.0)})
    assert both(stored(HypertensiveCrisis().score_one(obs))) == (
        "혈압 190/125 mmHg, 고혈압 위기 기준(180/120 mmHg) 이상입니다.",
        "Blood pressure 190/125 mmHg, at or above the 180/120 mmHg hypertensive-crisis threshold.",
    )


def test_spo2_below_the_copd_threshold() -> None:
    obs = observe(Metric.SPO2, 85.0, conditions=frozenset({"copd"}))
    assert both(stored(SpO2Low().score_one(obs))) == (
        "산소포화도 85%, 환자 기준(88%) 미만입니다.",
        "SpO2 85%, below the patient's 88% threshold.",
    )


def test_urgent_low_a_finger_stick() -> None:
    obs = observe(Metric.GLUCOSE, 48.0, conditions=frozenset({"t2d"}))
    assert both(stored(GlucoseOutOfRange().score_one(obs))) == (
        "혈당 48 mg/dL, 2단계(긴급) 저혈당 기준(54 mg/dL) 미만입니다.",
        "Glucose 48 mg/dL, below the 54 mg/dL level of urgent (level 2) hypoglycaemia.",
    )


def test_urgent_low_just_under_54_is_not_written_as_54() -> None:
    obs = observe(Metric.GLUCOSE, 53.6, conditions=frozenset({"t2d"}))
    ko, en = both(stored(GlucoseOutOfRange().score_one(obs)))
    assert en == "Glucose 53.6 mg/dL, below the 54 mg/dL level of urgent (level 2) hypoglycaemia."
    assert ko == "혈당 53.6 mg/dL, 2단계(긴급) 저혈당 기준(54 mg/dL) 미만입니다."


def test_a_falling_cgm_at_55_is_a_level_1_low_not_an_urgent_one() -> None:
    # Urgent (critical) needs a reading below 54 that the filter and the next reading confirm:
    # a fall to 55 is a level-1 low, worded with its own value, never "below 54".
    det = GlucoseOutOfRange()
    found = None
    for i, value in enumerate((80.0, 70.0, 62.0, 56.0, 55.0)):
        obs = observe(
            Metric.GLUCOSE, value, conditions=frozenset({"t1d"}), at=T0 + timedelta(minutes=5 * i)
        )
        found = det.score_one(obs)
        det.learn_one(obs)
    assert found is not None
    assert found.cause == "hypoglycemia"
    ko, en = both(stored(found))
    assert en == "Glucose 55 mg/dL, below the 70 mg/dL hypoglycaemia threshold."
    assert ko == "혈당 55 mg/dL, 저혈당 기준(70 mg/dL) 미만입니다."


def test_a_cgm_reading_below_54_not_yet_confirmed_says_near_54_in_both_languages() -> None:
    # One CGM reading under 54 after a steady hour at 62: high, not critical, and its words (the
    # stored English too) say near 54 and what would make it urgent.
    det = GlucoseOutOfRange()
    found = None
    for i, value in enumerate([62.0] * 8 + [52.0]):
        obs = observe(
            Metric.GLUCOSE, value, conditions=frozenset({"t1d"}), at=T0 + timedelta(minutes=5 * i)
        )
        found = det.score_one(obs)
        det.learn_one(obs)
    assert found is not None
    assert (found.cause, found.severity.name) == ("hypoglycemia", "HIGH")
    en_sentence = (
        "Glucose 52 mg/dL, below the 70 mg/dL hypoglycaemia threshold and near 54 mg/dL (urgent "
        "low): urgent once the next reading and the sensor's trend confirm it."
    )
    assert found.explanation.sentence == en_sentence
    assert both(stored(found)) == (
        "혈당 52 mg/dL, 저혈당 기준(70 mg/dL) 미만이며 54 mg/dL(긴급 저혈당)에 가깝습니다. "
        "다음 측정과 센서 추세로 확인되면 긴급 저혈당입니다.",
        en_sentence,
    )


def test_an_urgent_low_stored_by_the_old_lag_rule_does_not_say_the_reading_is_below_54() -> None:
    # Alerts kept from before the noise-aware filter: the lag-corrected value crossed 54, the
    # reading (55) did not, and the sentence says so.
    obs = observe(Metric.GLUCOSE, 48.0, conditions=frozenset({"t1d"}))
    kept = stored(GlucoseOutOfRange().score_one(obs))
    kept.update(value=55.0, details={**kept["details"], "lag_min": 10.0})
    ko, en = both(kept)
    assert en == (
        "Glucose 55 mg/dL and falling: the sensor lags blood glucose by about 10 minutes, so "
        "the blood glucose has likely reached urgent (level 2) hypoglycaemia."
    )
    assert ko == (
        "혈당 55 mg/dL, 하강 중입니다. 센서 혈당은 실제 혈당보다 약 10분 늦으므로 실제 혈당은 "
        "이미 2단계(긴급) 저혈당일 가능성이 높습니다."
    )
    assert "below the 54" not in en


def test_a_cgm_low_mark_is_written_low() -> None:
    obs = observe(Metric.GLUCOSE, 40.0, conditions=frozenset({"t1d"}), censored="below")
    assert both(stored(GlucoseOutOfRange().score_one(obs))) == (
        "혈당 LOW (40 mg/dL 이하), 2단계(긴급) 저혈당 기준(54 mg/dL) 미만입니다.",
        "Glucose LOW (40 mg/dL or less), below the 54 mg/dL level of urgent (level 2) "
        "hypoglycaemia.",
    )


def test_low_and_high_glucose() -> None:
    det = GlucoseOutOfRange()
    low = observe(Metric.GLUCOSE, 65.0, conditions=frozenset({"t2d"}))
    high = observe(Metric.GLUCOSE, 310.0, conditions=frozenset({"t2d"}))
    assert both(stored(det.score_one(low))) == (
        "혈당 65 mg/dL, 저혈당 기준(70 mg/dL) 미만입니다.",
        "Glucose 65 mg/dL, below the 70 mg/dL hypoglycaemia threshold.",
    )
    assert both(stored(det.score_one(high))) == (
        "혈당 310 mg/dL, 고혈당 기준(250 mg/dL) 초과입니다.",
        "Glucose 310 mg/dL, above the 250 mg/dL hyperglycaemia threshold.",
    )


def test_fever_and_a_lasting_fast_heart_rate() -> None:
    fever = observe(Metric.BODY_TEMPERATURE, 38.64)
    assert both(stored(Fever().score_one(fever))) == (
        "체온 38.6°C, 발열 기준(38.0°C) 이상입니다.",
        "Temperature 38.6°C, at or above the 38.0°C fever threshold.",
    )
    det = HeartRateOutOfRange()
    found = None
    for minutes in (0, 20, 40):
        obs = observe(Metric.HEART_RATE, 131.0, at=T0 + timedelta(minutes=minutes))
        found = det.score_one(obs)
        det.learn_one(obs)
    assert both(stored(found)) == (
        "안정 시 심박수 131/min, 기준(120/min) 초과가 40분간 지속되었습니다.",
        "Heart rate 131/min at rest, above the 120/min threshold for 40 minutes.",
    )


def test_a_late_upload_says_when_it_was_taken() -> None:
    obs = observe(
        Metric.SPO2, 85.0, conditions=frozenset({"copd"}), received=T0 + timedelta(hours=19)
    )
    e = stored(SpO2Low().score_one(obs), data_age_s=19 * 3600.0)
    assert both(e) == (
        "산소포화도 85%, 환자 기준(88%) 미만입니다. (19시간 전 측정, 늦게 전송됨)",
        "SpO2 85%, below the patient's 88% threshold. (reading taken 19 hours ago, uploaded late)",
    )


@pytest.mark.parametrize(
    ("e", "ko", "en"),
    [
        (
            {
                "code": "bp_above_target",
                "value": 142.4,
                "threshold": 135.0,
                "window_s": 604800.0,
                "details": {"diastolic": 88.2, "target_diastolic": 85.0, "readings": 9},
            },
            "최근 7일 가정혈압 평균 142/88 mmHg(9회 측정), 목표(135/85 mmHg) 초과입니다.",
            "Home blood pressure averaged 142/88 mmHg over the last 7 days (9 readings), above "
            "the 135/85 mmHg target.",
        ),
        (
            {
                "code": "hf_decompensation",
                "value": 82.4,
                "baseline": 80.1,
                "threshold": 2.0,
                "window_s": 259200.0,
                "details": {"detector": "hf_weight_gain"},
            },
            "체중 2.3 kg 증가(80.1 kg → 82.4 kg), 심부전 기준(3일 내 2.0 kg) 이상입니다.",
            "Weight up 2.3 kg (80.1 kg to 82.4 kg), above the heart-failure rule of 2.0 kg in "
            "3 days.",
        ),
        (
            {
                "code": "copd_exacerbation",
                "value": 89.0,
                "baseline": 93.2,
                "threshold": 89.2,
                "details": {},
            },
            "산소포화도 89%, 평소(93.2%)보다 4.2%p 낮습니다.",
            "SpO2 89%, 4.2 points below this patient's usual 93.2%.",
        ),
        (
            {
                "code": "predicted_low",
                "value": 78.0,
                "threshold": 54.0,
                "details": {"rate_mg_dl_per_min": -2.04, "horizon_min": 20.0, "lag_min": 10.0},
            },
            "혈당 78 mg/dL, 분당 2.0 mg/dL 하강 중: 20분 안에 54 mg/dL 미만(긴급 저혈당)이 "
            "예상됩니다.",
            "Glucose 78 mg/dL and falling 2.0 mg/dL per minute: predicted below 54 mg/dL "
            "(urgent low) within 20 minutes.",
        ),
        (
            {"code": "news2", "value": 7.0, "threshold": 5, "details": {}},
            "조기경보점수(NEWS2) 7점, 긴급 평가 기준(5점) 이상입니다.",
            "Early-warning score (NEWS2) 7 from the latest home vital signs, at or above the "
            "urgent-review level of 5.",
        ),
    ],
)
def test_the_other_kinds(e: dict[str, Any], ko: str, en: str) -> None:
    assert both(e) == (ko, en)


def test_missing_data_is_worded_from_its_cause() -> None:
    e = {"value": 50.0, "threshold": 48.0, "details": {"unit": "hours"}, "sentence": "x"}
    assert both(e, "missed_measurements", "missing_data") == (
        "2.1일째 측정값이 없습니다(허용 간격 48시간).",
        "No readings for 2.1 days, longer than the 48 hours allowed between measurements.",
    )


def test_an_explanation_stored_before_codes_keeps_its_sentence() -> None:
    e = {"sentence": "SpO2 85 % is below 90 %", "value": 85.0, "threshold": 90.0, "details": {}}
    assert both(e, "spo2_low", "spo2_low") == ("SpO2 85 % is below 90 %",) * 2


def test_every_kind_has_a_korean_and_an_english_template() -> None:
    from vigil.clinical import wording_en, wording_ko

    assert set(wording_ko.TEMPLATES) == set(wording_en.TEMPLATES)
    for key, text in wording_ko.TEMPLATES.items():
        if key not in {"late", "age_hours", "age_days"}:
            assert HANGUL.search(text), key


def test_every_cause_an_episode_groups_has_its_words() -> None:
    """A detector's new cause without a template would be read in English on a Korean page:
    the episodes name every cause the detectors make."""
    from vigil.alerts.episodes import EPISODES

    causes = set().union(*(rule.causes for rule in EPISODES))
    assert causes - set(wording._BUILDERS) == set()
