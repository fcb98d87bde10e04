"""Replay stored history through the full detector set with a given care plan (previews).

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import UUID
>>> from vigil.core.metrics import Metric
>>> from vigil.core.models import StoredReading
>>> t0 = datetime(2026, 11, 1, tzinfo=UTC)
>>> rs = [StoredReading(t0 + timedelta(hours=12 * i), UUID(int=1), Metric.SPO2, v, "ox", t0)
...       for i, v in enumerate([95, 91, 95, 89])]
>>> [f.cause for f in replay(rs, conditions=[], thresholds={})]
['spo2_low']
>>> [f.cause for f in replay(rs, conditions=[], thresholds={"spo2": {"low": 92}})]
['spo2_low', 'spo2_low']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vigil.clinical.careplan import CarePlan
from vigil.clinical.findings import Finding
from vigil.core.models import StoredReading
from vigil.streaming.engine import StreamEngine


def replay(
    readings: Sequence[StoredReading],
    *,
    conditions: Sequence[str],
    thresholds: Mapping[str, Mapping[str, Any]],
    targets: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Finding]:
    """Findings the detectors would have produced on ``readings`` under this plan."""
    plan = CarePlan.from_stored(set(conditions), thresholds, targets)
    engine = StreamEngine(plan_for=lambda _patient: plan)
    return engine.process(readings)
