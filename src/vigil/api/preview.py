"""Try a care-plan change before turning it on: count the alerts a replay of history opens.

The history is replayed by the streaming stage's one replay (:func:`vigil.streaming.replay`:
the full detector set under the plan), so a preview sees what the detectors would have seen.
Findings become alerts by the alerts stage's own rule (:class:`vigil.alerts.episodes.AlertGrouping`,
the code :class:`~vigil.alerts.AlertService` and ``vigil eval`` use): one alert per episode
(related causes of one state), which later findings update; it resolves when its episode has
ended, and a finding within the policy's quiet period after that reopens it. The count assumes
the team acknowledges every alert (how fast it does is not in the history).

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import UUID
>>> from vigil.core.metrics import Metric
>>> from vigil.core.models import StoredReading
>>> from vigil.streaming import replay
>>> t0 = datetime(2026, 11, 1, tzinfo=UTC)
>>> rs = [StoredReading(t0 + timedelta(hours=h), UUID(int=1), Metric.SPO2, v, "ox", t0)
...       for h, v in enumerate([95, 87, 86, 95, 95, 85])]
>>> found = replay(rs, conditions=["copd"], thresholds={"spo2": {"low": 88}})
>>> count_alerts(found)
{'spo2_low': 1}
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from vigil.alerts import AlertPolicy
from vigil.alerts.episodes import AlertGrouping
from vigil.clinical.findings import Finding


def opened_alerts(
    findings: Sequence[Finding], *, policy: AlertPolicy | None = None
) -> list[tuple[str, datetime]]:
    """The alerts the findings would have opened: the cause that opened each and when, oldest
    first."""
    grouping = AlertGrouping(quiet_period=(policy or AlertPolicy()).quiet_period)
    grouping.extend(findings)
    return sorted(((a.findings[0].cause, a.findings[0].time) for a in grouping.alerts),
                  key=lambda o: o[1])  # fmt: skip


def count_alerts(
    findings: Sequence[Finding], *, policy: AlertPolicy | None = None
) -> dict[str, int]:
    """Alerts the findings would have opened, per the cause that opened each."""
    counts: dict[str, int] = {}
    for cause, _ in opened_alerts(findings, policy=policy):
        counts[cause] = counts.get(cause, 0) + 1
    return dict(sorted(counts.items()))
