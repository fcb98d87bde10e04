"""The insulin-on-board forecast: the published curve's shape, and what the detector makes of a
pump's records with the CGM."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from tests.streaming.test_detectors import obs

from vigil.clinical import CarePlan
from vigil.clinical.careplan import InsulinSettings
from vigil.core.metrics import Metric
from vigil.streaming.forecast import PredictedLow
from vigil.streaming.insulin import (
    DIA_MIN,
    PEAK_MIN,
    carbs_absorbed,
    insulin_activity,
    insulin_on_board,
)

T1D = CarePlan.default_for({"t1d"})


def test_insulin_on_board_is_all_at_the_bolus_and_none_after_the_duration() -> None:
    assert insulin_on_board(0.0) == 1.0
    assert insulin_on_board(DIA_MIN) == 0.0
    assert insulin_on_board(DIA_MIN + 60) == 0.0
    values = [insulin_on_board(t) for t in range(0, int(DIA_MIN) + 1, 5)]
    assert all(a >= b for a, b in pairwise(values)), "IOB only falls"


def test_activity_peaks_at_the_peak_and_integrates_to_the_whole_dose() -> None:
    minutes = [t / 2 for t in range(0, int(DIA_MIN) * 2 + 1)]
    peak = max(minutes, key=insulin_activity)
    assert peak == pytest.approx(PEAK_MIN, abs=0.5)
    total = sum(insulin_activity(t) * 0.5 for t in minutes)
    assert total == pytest.approx(1.0, abs=0.01)
    # IOB is what activity has still to deliver.
    rest = sum(insulin_activity(t) * 0.5 for t in minutes if t >= PEAK_MIN)
    assert rest == pytest.approx(insulin_on_board(PEAK_MIN), abs=0.01)


def test_carbohydrate_is_absorbed_linearly_over_three_hours() -> None:
    assert [carbs_absorbed(t) for t in (-5, 0, 90, 180, 240)] == [0.0, 0.0, 0.5, 1.0, 1.0]


def pump_and_cgm(
    det: PredictedLow, doses: list[tuple[int, float]], carbs: float, cgm: list[float]
) -> list[str]:
    """Boluses (minute, units) and carbohydrate at minute 0, then a CGM from minute 40."""
    plan = CarePlan(
        T1D.conditions,
        T1D.thresholds,
        T1D.targets,
        insulin=InsulinSettings(sensitivity_mg_dl_per_u=50, carb_ratio_g_per_u=10),
    )
    for minute, units in doses:
        det.learn_one(obs(Metric.INSULIN, units, timedelta(minutes=minute), plan))
    det.learn_one(obs(Metric.CARBS, carbs, timedelta(minutes=0), plan))
    causes = []
    for i, v in enumerate(cgm):
        o = obs(Metric.GLUCOSE, v, timedelta(minutes=40 + 5 * i), plan)
        f = det.score_one(o)
        det.learn_one(o)
        causes.append(f.explanation.details.get("basis", "line") if f else "")
    return causes


FLAT = [84, 83, 85, 84, 83, 84, 85, 84]


def test_a_doubled_bolus_over_a_flat_cgm_predicts_an_urgent_low() -> None:
    causes = pump_and_cgm(PredictedLow(), [(0, 6.0), (2, 6.0)], 60, FLAT)
    assert "insulin_on_board" in causes


def test_a_meal_bolus_with_its_carbohydrate_predicts_nothing() -> None:
    assert pump_and_cgm(PredictedLow(), [(0, 6.0)], 60, FLAT) == [""] * len(FLAT)


def test_a_rising_cgm_disagrees_with_the_forecast() -> None:
    rising = [100 + 5 * i for i in range(len(FLAT))]
    assert pump_and_cgm(PredictedLow(), [(0, 6.0), (2, 6.0)], 60, rising) == [""] * len(FLAT)


def test_without_pump_records_the_detector_is_the_cgm_line_alone() -> None:
    """The same CGM with and without an (old, finished) bolus: the same findings."""
    falling = [130, 120, 110, 100, 90, 82, 74, 66]
    with_old = PredictedLow()
    with_old.learn_one(obs(Metric.INSULIN, 5.0, timedelta(minutes=-DIA_MIN - 10), T1D))
    plain = _cause(PredictedLow(), falling)
    assert any("and falling" in sentence for sentence in plain)
    assert plain == _cause(with_old, falling)


def _cause(det: PredictedLow, values: list[float]) -> list[str]:
    out = []
    for i, v in enumerate(values):
        o = obs(Metric.GLUCOSE, v, timedelta(minutes=5 * i), T1D)
        f = det.score_one(o)
        det.learn_one(o)
        out.append(f.explanation.sentence if f else "")
    return out


def test_the_explanation_says_insulin_on_board_in_clinical_words() -> None:
    det = PredictedLow()
    pump_and_cgm(det, [(0, 6.0), (2, 6.0)], 60, FLAT[:-1])
    plan = CarePlan(
        T1D.conditions,
        T1D.thresholds,
        T1D.targets,
        insulin=InsulinSettings(sensitivity_mg_dl_per_u=50, carb_ratio_g_per_u=10),
    )
    found = det.score_one(obs(Metric.GLUCOSE, 83, timedelta(minutes=40 + 5 * 7), plan))
    assert found is not None
    sentence = found.explanation.sentence
    assert sentence.startswith("Glucose 83 mg/dL, ")
    assert "U of insulin on board" in sentence
    assert "predicted below 54 mg/dL (urgent low) within" in sentence
    assert found.cause == "predicted_low"
    assert found.explanation.details["insulin_on_board_u"] > 6


def test_a_doubled_bolus_over_a_flat_cgm_at_120_predicts_nothing_yet() -> None:
    """Above 85 the insulin forecast is not trusted (on simglucose patients it warned from 120
    of lows that never came); the same bolus warns once the CGM is at 85 or below."""
    high = [v + 36 for v in FLAT]
    assert pump_and_cgm(PredictedLow(), [(0, 6.0), (2, 6.0)], 60, high) == [""] * len(FLAT)
