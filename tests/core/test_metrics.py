from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core import SPECS, ImplausibleValue, Metric, UnknownUnit, to_canonical


def test_every_metric_has_loinc_and_canonical_unit_accepted() -> None:
    assert set(SPECS) == set(Metric)
    for spec in SPECS.values():
        # A bolus is a medication given (FHIR's MedicationAdministration), not an observation
        # with a LOINC code: the FHIR export names it in text.
        assert spec.loinc or spec.metric is Metric.INSULIN
        assert spec.ucum in spec.units
        assert spec.low < spec.high


@pytest.mark.parametrize(
    ("metric", "value", "unit", "expected"),
    [
        (Metric.GLUCOSE, 3.0, "mmol/L", 54.048),
        (Metric.BODY_WEIGHT, 200.0, "lb", 90.7185),
        (Metric.BODY_TEMPERATURE, 100.4, "[degF]", 38.0),
        (Metric.BP_SYSTOLIC, 24.0, "kPa", 180.0148),
        (Metric.HEART_RATE, 60, "bpm", 60),
    ],
)
def test_conversions(metric: Metric, value: float, unit: str, expected: float) -> None:
    assert to_canonical(metric, value, unit) == pytest.approx(expected, abs=0.01)


def test_unknown_unit_names_accepted_units() -> None:
    with pytest.raises(UnknownUnit, match="use one of mg/dL, mmol/L"):
        to_canonical(Metric.GLUCOSE, 5.0, "mg/L")


@pytest.mark.parametrize(
    ("metric", "value"), [(Metric.SPO2, 101), (Metric.HEART_RATE, 0), (Metric.BODY_WEIGHT, -3)]
)
def test_impossible_values_rejected(metric: Metric, value: float) -> None:
    with pytest.raises(ImplausibleValue, match="physiologically possible"):
        to_canonical(metric, value, SPECS[metric].ucum)


@given(st.floats(min_value=50, max_value=500))
def test_pound_round_trip(lb: float) -> None:
    assert to_canonical(Metric.BODY_WEIGHT, lb, "[lb_av]") == pytest.approx(
        lb * 0.45359237, abs=1e-3
    )


@given(st.floats(min_value=86, max_value=110))
def test_fahrenheit_monotonic(f: float) -> None:
    assert to_canonical(Metric.BODY_TEMPERATURE, f, "[degF]") <= to_canonical(
        Metric.BODY_TEMPERATURE, f + 0.5, "[degF]"
    )
