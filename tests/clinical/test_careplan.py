"""The one merge of a stored care plan over the guidance defaults, as every reader sees it."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime

from vigil.api.routers.me import _week
from vigil.clinical import careplan
from vigil.clinical.careplan import CarePlan, Limits
from vigil.coaching import Targets
from vigil.core.metrics import Metric


def test_doctests() -> None:
    assert doctest.testmod(careplan).failed == 0


def test_a_plan_that_sets_one_end_keeps_the_other_default() -> None:
    # What the care-plan page saves when a nurse changes the low threshold only.
    plan = CarePlan.from_stored({"t1d"}, {"glucose": {"low": 75, "high": None}}, {})
    assert plan.threshold(Metric.GLUCOSE) == Limits(75.0, 250.0)  # the high alarm stays
    assert plan.threshold(Metric.SPO2) == Limits(low=90.0)


def test_coaching_and_the_feed_read_the_targets_the_detectors_read() -> None:
    stored = {"bp_systolic": {"high": 130}, "glucose": {"low": 80}}
    plan = CarePlan.from_stored({"copd"}, None, stored)
    targets = Targets.from_care_plan(stored, {"copd"})
    assert (targets.bp_systolic_high, targets.bp_diastolic_high) == (130.0, 85.0)
    assert (targets.glucose_low, targets.glucose_high) == (80.0, 180.0)
    assert Targets() == Targets.from_care_plan(None)  # the defaults are the plan's defaults
    now = datetime(2026, 11, 28, tzinfo=UTC)
    rows = [{"metric": "glucose", "time": now, "value": v} for v in (79, 80, 180, 181)]
    [week] = _week(rows, now, plan)
    assert week.in_target_share == 0.5  # 80 and 180, as the plan's merged target says
