"""The closed list of conditions: enrolment refuses others, care plans take their defaults."""

from __future__ import annotations

import logging

import pytest

from vigil.clinical.careplan import CarePlan
from vigil.core.conditions import Condition, UnknownCondition, parse_conditions
from vigil.core.metrics import Metric


def test_known_conditions_parse_in_order_without_repeats() -> None:
    assert parse_conditions(["copd", "t1d", "copd"]) == [Condition.COPD, Condition.T1D]


@pytest.mark.parametrize("bad", ["diabetes", "COPD", "copd ", "", "heart failure", "x" * 10_000])
def test_anything_else_is_refused_with_the_list(bad: str) -> None:
    with pytest.raises(UnknownCondition, match="one of: copd, heart_failure"):
        parse_conditions(["hypertension", bad])


def test_care_plan_defaults_follow_the_conditions() -> None:
    assert CarePlan.default_for(["copd"]).threshold(Metric.SPO2).low == 88.0
    assert CarePlan.default_for([]).threshold(Metric.SPO2).low == 90.0
    with pytest.raises(UnknownCondition):
        CarePlan.default_for(["copd_"])  # a typo no longer gets the default plan


def test_a_legacy_stored_condition_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="vigil.clinical.careplan"):
        plan = CarePlan.from_stored({"copd", "asthma"}, None, None)
    assert plan.conditions == frozenset({"copd"})
    assert "asthma" in caplog.text
