"""The simulator's records: patients, devices, planned events, samples and the run's output.

Times inside the simulator are integer seconds since the Unix epoch (UTC): cheap to compare and
add, and turned into ISO 8601 ``...Z`` strings only when a record is written out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from vigil.core.metrics import Metric

DeviceKind = Literal[
    "bp_cuff",
    "cgm",
    "glucometer",
    "scale",
    "oximeter",
    "thermometer",
    "hr_wearable",
    "insulin_pump",
]
Condition = Literal["hypertension", "t1d", "t2d", "heart_failure", "copd", "healthy"]
Severity = Literal["info", "warning", "critical"]

DAY = 86_400
HOUR = 3_600
MINUTE = 60


def iso(t: int) -> str:
    """Epoch seconds as the ISO 8601 UTC form used in every output file."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    kind: DeviceKind
    units: dict[Metric, str]
    """The unit this device reports each metric in (lb, mmol/L, degF for some patients)."""
    drift_s: float
    """Clock offset at the start of the run, seconds (0 for a well-set clock)."""
    drift_per_day_s: float


@dataclass(slots=True)
class Baselines:
    """A patient's personal resting values, before circadian rhythm, events and noise."""

    systolic: float
    diastolic: float
    heart_rate: float
    spo2: float
    respiratory_rate: float
    temperature: float
    weight: float
    glucose: float
    """Mean glucose (CGM users) or fasting glucose (fingerstick users), mg/dL."""


@dataclass(slots=True)
class Patient:
    patient_id: str
    conditions: list[Condition]
    age: int
    sex: Literal["F", "M"]
    utc_offset_h: int
    """Where the patient lives: their day (meals, sleep, measuring) runs on local time."""
    adherence: float
    """Probability of measuring on a weekday; weekends are lower."""
    baselines: Baselines
    devices: list[Device] = field(default_factory=list)

    def device(self, kind: DeviceKind) -> Device | None:
        return next((d for d in self.devices if d.kind == kind), None)

    def to_json(self) -> dict[str, Any]:
        b = self.baselines
        return {
            "patient": self.patient_id,
            "conditions": list(self.conditions),
            "age": self.age,
            "sex": self.sex,
            "devices": [{"device_id": d.device_id, "kind": d.kind} for d in self.devices],
            "utc_offset_hours": self.utc_offset_h,
            "adherence": round(self.adherence, 3),
            "baselines": {
                "bp_systolic": round(b.systolic, 1),
                "bp_diastolic": round(b.diastolic, 1),
                "heart_rate": round(b.heart_rate, 1),
                "spo2": round(b.spo2, 1),
                "respiratory_rate": round(b.respiratory_rate, 1),
                "body_temperature": round(b.temperature, 2),
                "body_weight": round(b.weight, 1),
                "glucose": round(b.glucose, 1),
            },
        }


@dataclass(frozen=True, slots=True)
class Effect:
    """How an event moves one metric: a trapezoid in time, added or blended toward a target.

    ``add`` adds ``amount`` times the envelope; ``blend`` moves the value toward ``amount``
    (an absolute target) by the envelope's weight, which gives a CGM trace's realistic descent.
    """

    metric: Metric
    mode: Literal["add", "blend"]
    amount: float
    onset: int
    peak: int
    fade: int
    end: int

    def weight(self, t: int) -> float:
        if t <= self.onset or t >= self.end:
            return 0.0
        if t < self.peak:
            return (t - self.onset) / (self.peak - self.onset)
        if t <= self.fade:
            return 1.0
        return (self.end - t) / (self.end - self.fade)

    def apply(self, value: float, t: int) -> float:
        w = self.weight(t)
        if w == 0.0:
            return value
        if self.mode == "add":
            return value + self.amount * w
        return value + (self.amount - value) * w


@dataclass(frozen=True, slots=True)
class Shows:
    """A reading shows an event when its canonical value crosses ``threshold`` (op ``<``/``>=``)."""

    metric: Metric
    op: Literal["<", ">=", ">"]
    threshold: float

    def seen(self, metric: Metric, value: float) -> bool:
        if metric != self.metric:
            return False
        if self.op == "<":
            return value < self.threshold
        if self.op == ">":
            return value > self.threshold
        return value >= self.threshold


@dataclass(slots=True)
class Event:
    """One injected clinical event (or non-event) and the truth line it becomes."""

    patient_id: str
    kind: str
    start: int
    end: int
    severity: Severity
    metrics: list[Metric]
    non_event: bool = False
    effects: list[Effect] = field(default_factory=list)
    shows: list[Shows] = field(default_factory=list)
    min_shown: int = 1
    """Readings that must show the event for it to count; 0 for absences (missed measurements)."""
    forced: list[tuple[DeviceKind, int]] = field(default_factory=list)
    """Measurements the patient takes whatever their adherence (they feel unwell, they check)."""
    band: tuple[float, float] | None = None
    """For a non-event: the range its readings are kept in (it must not become a real event)."""
    suppress: bool = False
    """The patient takes no measurements at all during the event (they stopped measuring)."""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "patient": self.patient_id,
            "kind": self.kind,
            "start": iso(self.start),
            "end": iso(self.end),
            "severity": self.severity,
            "metrics": [m.value for m in self.metrics],
            "non_event": self.non_event,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(slots=True)
class Sample:
    """One payload item as measured (true time) and as the device reports it (drifted ``ts``)."""

    t: int
    ts: int
    values: list[tuple[Metric, float]]
    """Canonical values, as ingest will see them after converting the emitted unit."""
    item: dict[str, Any]
    """The payload item as published."""


@dataclass(slots=True)
class SimOutput:
    """Everything one run produced; the same dicts as the ``--to-file`` JSON Lines."""

    patients: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    """In publish order, each as one readings.jsonl line."""
    truth: list[dict[str, Any]]
    start: datetime
    end: datetime
    scenario: str
    seed: int
    stats: dict[str, int] = field(default_factory=dict)
    true_glucose: list[dict[str, Any]] = field(default_factory=list)
    """Samples of true blood glucose (``patient``, ``time``, ``true_glucose_mg_dl``), where the
    model has it (``t1d_minimal_model``): what `vigil eval` reads beside the truth events."""
