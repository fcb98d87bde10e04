"""The detector contract, in river's shape.

A detector watches one patient's stream. ``score_one`` looks at an observation and returns a
finding or None without changing any state; ``learn_one`` then updates the state. The engine
scores every detector first and lets baseline detectors learn only from readings that raised no
alarm, so that an exacerbation does not become the new normal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol
from uuid import UUID

from vigil.clinical.careplan import CarePlan
from vigil.clinical.display import format_value
from vigil.clinical.findings import Explanation, Finding, Severity
from vigil.core.metrics import Censored, Metric

if TYPE_CHECKING:
    from vigil.streaming.usual import PersonalBaselines


@dataclass(slots=True, init=False)
class Observation:
    """One reading as a detector sees it. Read-only by contract, not frozen: one is made per
    reading, and a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) cost
    several microseconds of each reading's budget. Its ``__init__`` is written out so that
    ``epoch`` is filled in without a ``__post_init__`` call."""

    patient_id: UUID
    time: datetime
    metric: Metric
    value: float
    device_id: str
    received_at: datetime
    plan: CarePlan
    latest: Mapping[Metric, tuple[datetime, float]]
    """The patient's latest value of every metric, this observation included."""
    censored: Censored | None = None
    """'below' / 'above' for a device's LOW / HIGH mark: ``value`` is its bound (at most / at
    least it)."""
    usual: PersonalBaselines | None = None
    """What is usual for this patient (the engine's), and when they last moved; read-only for
    detectors."""
    epoch: float = math.nan
    """``time`` as epoch seconds (``time.timestamp()``, worked out once a reading: detectors
    compare times as floats); worked out here when not given."""

    def __init__(
        self,
        patient_id: UUID,
        time: datetime,
        metric: Metric,
        value: float,
        device_id: str,
        received_at: datetime,
        plan: CarePlan,
        latest: Mapping[Metric, tuple[datetime, float]],
        censored: Censored | None = None,
        usual: PersonalBaselines | None = None,
        epoch: float | None = None,
    ) -> None:
        self.patient_id = patient_id
        self.time = time
        self.metric = metric
        self.value = value
        self.device_id = device_id
        self.received_at = received_at
        self.plan = plan
        self.latest = latest
        self.censored = censored
        self.usual = usual
        self.epoch = time.timestamp() if epoch is None else epoch

    @property
    def age_s(self) -> float:
        return max(0.0, (self.received_at - self.time).total_seconds())


class Detector(Protocol):
    name: ClassVar[str]
    metrics: ClassVar[frozenset[Metric]]
    learns: ClassVar[bool]
    """True for personal-baseline detectors: they do not learn from a reading that raised an
    alarm (any detector's). Others (windows of recent readings) always get ``learn_one``."""

    def score_one(self, obs: Observation) -> Finding | None: ...

    def learn_one(self, obs: Observation) -> None: ...


def fmt(metric: Metric, value: float) -> str:
    """A value with its unit as a nurse reads it: ``SpO2 86 %``, ``weight 81.4 kg``."""
    return format_value(metric, value)


def finding(
    obs: Observation,
    *,
    detector: str,
    cause: str,
    severity: Severity,
    score: float,
    sentence: str,
    metrics: tuple[Metric, ...] | None = None,
    value: float | None = None,
    threshold: float | None = None,
    baseline: float | None = None,
    window_s: float | None = None,
    contributing: tuple[tuple[datetime, float], ...] = (),
    **details: object,
) -> Finding:
    if obs.age_s >= 3600:
        sentence += f" (reading taken {_age(obs.age_s)} ago, uploaded late)"
    return Finding(
        patient_id=obs.patient_id,
        cause=cause,
        metrics=tuple(m.value for m in (metrics or (obs.metric,))),
        time=obs.time,
        detector=detector,
        severity=severity,
        score=score,
        explanation=Explanation(
            sentence=sentence,
            value=obs.value if value is None else value,
            threshold=threshold,
            baseline=baseline,
            window_s=window_s,
            contributing=contributing or ((obs.time, obs.value),),
            details={
                "metric": obs.metric.value,
                "censored": obs.censored,
                "detector": detector,
                **details,
            },
            code=cause,
        ),
        age_s=obs.age_s,
    )


def _age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / 3600:.0f} hours"
