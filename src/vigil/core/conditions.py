"""The conditions Vigil monitors: a closed list, validated wherever a patient is enrolled.

Each condition sets care-plan defaults (``vigil.clinical.careplan``) and the detectors that
watch for it; a condition outside the list would silently get the default plan, so it is
refused instead.

>>> parse_conditions(["copd", "t1d"])
[<Condition.COPD: 'copd'>, <Condition.T1D: 't1d'>]
>>> try:
...     parse_conditions(["diabetes"])
... except UnknownCondition as e:
...     print(e)
unknown condition 'diabetes' (one of: copd, heart_failure, hypertension, t1d, t2d)
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from vigil.core.errors import VigilError


class Condition(StrEnum):
    HYPERTENSION = "hypertension"
    """Home BP targets 135/85 (ESH 2023): the 7-day average rule; crisis at 180/120."""
    T1D = "t1d"
    """Type 1 diabetes: glucose 70-250 with urgent below 54, predicted low on a CGM."""
    T2D = "t2d"
    """Type 2 diabetes: the same glucose thresholds as type 1."""
    HEART_FAILURE = "heart_failure"
    """Weight gain of 2 kg in 3 days (ESC 2021, HFSA), personal weight baseline, NEWS2."""
    COPD = "copd"
    """SpO2 threshold 88 % and target 88-92 % (BTS 2017), the SpO2 drop from baseline, NEWS2
    with SpO2 scale 2."""


class UnknownCondition(VigilError, ValueError):
    """A condition outside :class:`Condition`."""


def parse_conditions(values: Iterable[str]) -> list[Condition]:
    """The conditions, in order and without repeats; :class:`UnknownCondition` for any other."""
    out: list[Condition] = []
    for value in values:
        try:
            condition = Condition(value)
        except ValueError:
            known = ", ".join(sorted(c.value for c in Condition))
            raise UnknownCondition(f"unknown condition {value!r} (one of: {known})") from None
        if condition not in out:
            out.append(condition)
    return out
