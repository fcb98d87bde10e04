"""Try a care-plan change before turning it on: replay stored history through the detectors.

The replay is a function of the patient's readings (in timestamp order), their conditions
and a set of thresholds, returning the findings the detectors would have produced. The
streaming stage provides the real one (``create_app(..., replay=...)``); until it is wired,
:func:`threshold_replay` applies the thresholds alone (no personal baselines), and the
answer says which engine produced it.

Findings become alerts by the alerts stage's own rule (:class:`vigil.alerts.episodes.AlertGrouping`,
the code :class:`~vigil.alerts.AlertService` and ``vigil eval`` use): one alert per episode
(related causes of one state), which later findings update; it resolves when its episode has
ended, and a finding within the policy's quiet period after that reopens it. The count assumes
the team acknowledges every alert (how fast it does is not in the history).

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import UUID
>>> from vigil.core.metrics import Metric
>>> t0 = datetime(2026, 11, 1, tzinfo=UTC)
>>> rs = [StoredReading(t0 + timedelta(hours=h), UUID(int=1), Metric.SPO2, v, "ox", t0)
...       for h, v in enumerate([95, 87, 86, 95, 95, 85])]
>>> found = threshold_replay(rs, conditions=["copd"], thresholds={"spo2": {"low": 88}})
>>> count_alerts(found)
{'spo2_low': 1}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from vigil.alerts import AlertPolicy
from vigil.alerts.episodes import AlertGrouping
from vigil.core.metrics import SPECS
from vigil.core.models import StoredReading
from vigil.streaming.findings import Explanation, Finding, Severity

Replay = Callable[..., Sequence[Finding]]
"""``replay(readings, *, conditions, thresholds, targets) -> findings``; thresholds and
targets as stored in a care plan: ``{metric: {"low": x, "high": y}}``."""


def threshold_replay(
    readings: Sequence[StoredReading],
    *,
    conditions: Sequence[str],
    thresholds: dict[str, dict[str, Any]],
    targets: dict[str, dict[str, Any]] | None = None,
) -> list[Finding]:
    findings = []
    for r in readings:
        limits = thresholds.get(r.metric.value) or {}
        low, high = limits.get("low"), limits.get("high")
        unit = SPECS[r.metric].ucum
        for side, limit, beyond in (
            ("low", low, low is not None and r.value < low),
            ("high", high, high is not None and r.value > high),
        ):
            if beyond:
                word = "below" if side == "low" else "above"
                findings.append(
                    Finding(
                        patient_id=r.patient_id,
                        cause=f"{r.metric.value}_{side}",
                        metrics=(r.metric.value,),
                        time=r.time,
                        detector="care_plan.threshold",
                        severity=Severity.HIGH,
                        score=1.0,
                        explanation=Explanation(
                            sentence=f"{SPECS[r.metric].display} {r.value:g} {unit} is {word}"
                            f" the care plan's threshold of {limit:g} {unit}",
                            value=r.value,
                            threshold=float(limit),  # type: ignore[arg-type]
                        ),
                    )
                )
    return findings


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
