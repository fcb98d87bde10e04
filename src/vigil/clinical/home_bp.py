"""Home blood-pressure monitoring as ESH 2023 and the Korean Society of Hypertension (2022)
ask for it: a week of morning and evening sittings of two readings each, the first day left
out (the first readings run high), the readings of one sitting averaged, the average of the
sittings against the home target (:data:`~vigil.clinical.careplan.HOME_BP_TARGET`, 135/85
mmHg, or the care plan's).

>>> is_morning(7), is_morning(11), is_morning(12), is_morning(21)
(True, True, False, False)
"""

from __future__ import annotations

from datetime import timedelta

HOME_BP_DAYS = 7
"""The protocol's length (days) and the report's default period."""
HOME_BP_MIN_DAYS = 3
"""Fewer days than this (after the first is left out) are too few to judge by (ESH 2023)."""
SITTING_GAP = timedelta(minutes=10)
"""Readings of one cuff this close to the previous one belong to the same sitting."""
MORNING_ENDS_HOUR = 12
"""A sitting before noon (the clinic's time) is the morning's, from noon the evening's."""


def is_morning(local_hour: int) -> bool:
    return local_hour < MORNING_ENDS_HOUR
