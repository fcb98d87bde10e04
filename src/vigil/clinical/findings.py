"""What a detector says: a Finding, with a structured and a plain-language explanation.

This is the hand-off from ``streaming`` to ``alerts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any
from uuid import UUID


class Severity(IntEnum):
    INFO = 10
    WARNING = 20
    HIGH = 30
    CRITICAL = 40


@dataclass(frozen=True, slots=True)
class Explanation:
    sentence: str
    """One plain sentence a nurse understands, naming the value and the threshold or baseline
    (English; kept as written for audit, and shown as such when ``code`` is empty)."""
    value: float | None = None
    threshold: float | None = None
    baseline: float | None = None
    window_s: float | None = None
    contributing: tuple[tuple[datetime, float], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    """What kind of finding this is (its cause): :mod:`vigil.clinical.wording` words it from
    ``code`` and the values, in the reader's language, when it is read."""


@dataclass(frozen=True, slots=True)
class Finding:
    patient_id: UUID
    cause: str
    """Stable key of the condition found (e.g. ``hypertensive_crisis``): one open alert per
    patient and cause."""
    metrics: tuple[str, ...]
    time: datetime
    """Timestamp of the reading (or clock tick) that produced the finding."""
    detector: str
    severity: Severity
    score: float
    explanation: Explanation
    age_s: float = 0.0
    """How old the data behind the finding was when it was scored (late backlog uploads)."""
