"""Try a care-plan change before turning it on: replay stored history through the detectors.

The replay is a function of the patient's readings (in timestamp order), their conditions
and a set of thresholds, returning the findings the detectors would have produced. The
streaming stage provides the real one (``create_app(..., replay=...)``); until it is wired,
:func:`threshold_replay` applies the thresholds alone (no personal baselines), and the
answer says which engine produced it.

Findings become alerts as the alert service would count them: one alert per cause, which
later findings update; a finding counts as a new alert only when its cause had been quiet for
longer than ``EPISODE_GAP`` (by then the team would have resolved the first one; how fast a
team resolves is not in the history, so this is an estimate).

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import UUID
>>> from vigil.core.metrics import Metric
>>> t0 = datetime(2026, 11, 1, tzinfo=UTC)
>>> rs = [StoredReading(t0 + timedelta(hours=h), UUID(int=1), Metric.SPO2, v, "ox", t0)
...       for h, v in enumerate([95, 87, 86, 95, 95, 85])]
>>> found = threshold_replay(rs, conditions=["copd"], thresholds={"spo2": {"low": 88}})
>>> count_alerts(found, gap=timedelta(hours=2))
{'spo2_low': 2}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from vigil.core.metrics import SPECS
from vigil.core.models import StoredReading
from vigil.streaming.findings import Explanation, Finding, Severity

EPISODE_GAP = timedelta(hours=12)

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


def count_alerts(findings: Sequence[Finding], *, gap: timedelta = EPISODE_GAP) -> dict[str, int]:
    """Alerts the findings would have opened, per cause."""
    last: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for f in sorted(findings, key=lambda f: f.time):
        previous = last.get(f.cause)
        if previous is None or f.time - previous > gap:
            counts[f.cause] = counts.get(f.cause, 0) + 1
        last[f.cause] = f.time
    return dict(sorted(counts.items()))
