"""Evaluation input: the simulator's JSON Lines records turned into what the detectors see.

Messages become :class:`StoredReading` batches the way ingest would hand them on: payloads are
parsed with the same :func:`vigil.core.parse_payload` (malformed messages and rejected items are
skipped), repeats are dropped (ingest's idempotent insert keys on device, metric and time), and
the device is attributed to the line's ``patient``. A truth line with a
``true_glucose_mg_dl`` (and a ``time``) is a sample of the patient's true blood glucose (a
simulator's plasma glucose, a reference meter's): for a patient whose truth has samples and no
glucose events, the glucose events are derived from them by the consensus rule
(:func:`vigil.clinical.glycaemia.glucose_episodes`). Care plans come from the patients' conditions
with guidance defaults (a condition outside the closed list is an error, not the default plan);
without a patients file, every patient gets the default plan.

>>> msg = {"publish_at": "2026-01-05T08:00:30Z", "patient": "p1", "device_id": "ox",
...        "malformed": False, "payload": {"readings": [
...            {"ts": "2026-01-05T08:00:00Z", "metric": "spo2", "value": 86, "unit": "%"}]}}
>>> data = EvalData.from_records([{"patient": "p1", "conditions": ["copd"]}], [msg, msg], [])
>>> [(b.received_at.isoformat(), [(r.metric.value, r.value) for r in b.readings])
...  for b in data.batches]
[('2026-01-05T08:00:30+00:00', [('spo2', 86.0)])]
>>> data.plans["p1"].threshold(Metric.SPO2).low
88.0
>>> data.name_of(data.batches[0].readings[0].patient_id)
'p1'
"""

from __future__ import annotations

import bisect
import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from vigil.clinical.careplan import CarePlan, InsulinSettings
from vigil.clinical.glycaemia import (
    LEVEL_1_LOW,
    LEVEL_2_HIGH,
    LEVEL_2_LOW,
    glucose_episodes,
)
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.core.payload import parse_payload

__all__ = ["Batch", "EvalData", "TruthEvent", "patient_uuid", "read_jsonl"]

TRUE_GLUCOSE = "true_glucose_mg_dl"
"""The truth line's field for a sample of true blood glucose (mg/dL)."""
GLUCOSE_KINDS: tuple[tuple[str, float, bool], ...] = (
    ("hypoglycemia", LEVEL_1_LOW, True),
    ("hypoglycemia_urgent", LEVEL_2_LOW, True),
    ("hyperglycemia", LEVEL_2_HIGH, False),
)
"""Truth kinds derived from true glucose: (kind, line, below)."""

_NAMESPACE = UUID("5b1f7d0e-6c1a-4f7e-9a51-3f0c2d6a9e10")


def patient_uuid(name: str) -> UUID:
    """A stable UUID for a file's patient name (readings carry UUIDs, as stored ones do)."""
    return uuid5(_NAMESPACE, name)


def parse_time(text: str) -> datetime:
    """ISO 8601 with ``Z`` or an offset, as every output file writes it."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True, slots=True)
class TruthEvent:
    patient: str
    kind: str
    start: datetime
    end: datetime
    non_event: bool
    metrics: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TruthEvent:
        return cls(
            str(doc["patient"]),
            str(doc["kind"]),
            parse_time(doc["start"]),
            parse_time(doc["end"]),
            bool(doc.get("non_event", False)),
            frozenset(doc.get("metrics", ())),
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """One message's accepted, new readings: what ingest hands on after one commit."""

    received_at: datetime
    readings: list[StoredReading]


@dataclass(slots=True)
class EvalData:
    plans: dict[str, CarePlan]
    batches: list[Batch]
    truth: list[TruthEvent]
    patients: set[str] = field(default_factory=set)
    skipped_messages: int = 0
    names: dict[UUID, str] = field(default_factory=dict)
    """Patient UUID (as readings and findings carry it) to the file's patient name."""
    true_glucose: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    """Per patient, time-ordered samples of true blood glucose (mg/dL), when the truth has them."""

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last reading (the observed period)."""
        times = [r.time for b in self.batches for r in b.readings]
        return (max(times) - min(times)).total_seconds() if times else 0.0

    @classmethod
    def from_records(
        cls,
        patients: Iterable[Mapping[str, Any]] | None,
        messages: Iterable[Mapping[str, Any]],
        truth: Iterable[Mapping[str, Any]],
    ) -> EvalData:
        plans = {
            # "healthy" is the simulator's word for none of the monitored conditions.
            str(p["patient"]): dataclasses.replace(
                CarePlan.default_for(c for c in p.get("conditions", ()) if c != "healthy"),
                time_zone=timezone(timedelta(hours=float(p.get("utc_offset_hours", 0)))),
                insulin=InsulinSettings.from_stored(p.get("insulin")),
            )
            for p in patients or ()
        }
        events, samples = _split_truth(truth)
        data = cls(plans, [], events, set(plans), true_glucose=samples)
        data.names = {patient_uuid(name): name for name in plans}
        seen: set[tuple[str, Metric, datetime]] = set()
        for msg in messages:
            batch = _batch(msg, seen)
            if batch is None:
                data.skipped_messages += 1
                continue
            data.batches.append(batch)
            name = str(msg["patient"])
            data.patients.add(name)
            data.names[patient_uuid(name)] = name
        data.patients |= {t.patient for t in data.truth}
        return data

    @classmethod
    def from_files(cls, readings: Path, truth: Path, patients: Path | None = None) -> EvalData:
        return cls.from_records(
            read_jsonl(patients) if patients is not None else None,
            read_jsonl(readings),
            read_jsonl(truth),
        )

    def true_glucose_at(self, patient: str, t: datetime) -> float | None:
        """The true glucose sample nearest ``t`` (within 10 minutes), or None."""
        samples = self.true_glucose.get(patient)
        if not samples:
            return None
        i = bisect.bisect_left(samples, (t, float("-inf")))
        near = [samples[j] for j in (i - 1, i) if 0 <= j < len(samples)]
        best = min(near, key=lambda s: abs((s[0] - t).total_seconds()))
        return best[1] if abs((best[0] - t).total_seconds()) <= 600 else None

    def name_of(self, patient_id: UUID) -> str:
        """The file's name of a patient, for display (detection only sees the UUID)."""
        return self.names.get(patient_id, str(patient_id))

    def plan_for(self, patient_id: UUID) -> CarePlan:
        plan = self.plans.get(self.name_of(patient_id))
        return plan if plan is not None else CarePlan.default_for(set())


def _split_truth(
    truth: Iterable[Mapping[str, Any]],
) -> tuple[list[TruthEvent], dict[str, list[tuple[datetime, float]]]]:
    """Events, and true glucose samples with the events derived from them (:data:`GLUCOSE_KINDS`)
    for patients whose truth lists no glucose event."""
    events: list[TruthEvent] = []
    samples: dict[str, list[tuple[datetime, float]]] = {}
    for doc in truth:
        if TRUE_GLUCOSE in doc:
            patient = str(doc["patient"])
            samples.setdefault(patient, []).append(
                (parse_time(doc["time"]), float(doc[TRUE_GLUCOSE]))
            )
        else:
            events.append(TruthEvent.from_json(doc))
    kinds = {kind for kind, _, _ in GLUCOSE_KINDS}
    labelled = {e.patient for e in events if e.kind in kinds}
    for patient, series in samples.items():
        series.sort()
        if patient in labelled:
            continue
        for kind, line, below in GLUCOSE_KINDS:
            for start, end, _ in glucose_episodes(series, line, below=below):
                events.append(TruthEvent(patient, kind, start, end, False, frozenset({"glucose"})))
    return events, samples


def _batch(msg: Mapping[str, Any], seen: set[tuple[str, Metric, datetime]]) -> Batch | None:
    payload = msg.get("payload")
    if msg.get("malformed") or not isinstance(payload, dict):
        return None
    received_at = parse_time(msg["publish_at"])
    device_id = str(msg["device_id"])
    parsed = parse_payload(
        json.dumps(payload).encode(), device_id=device_id, received_at=received_at
    )
    patient = patient_uuid(str(msg["patient"]))
    readings = []
    for r in parsed.readings:
        key = (device_id, r.metric, r.time)
        if key in seen:
            continue
        seen.add(key)
        readings.append(
            StoredReading(r.time, patient, r.metric, r.value, device_id, received_at, r.censored)
        )
    return Batch(received_at, readings) if readings else None
