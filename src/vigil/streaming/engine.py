"""The stream engine: per-patient detector state, scoring each reading in timestamp order.

For each reading: every detector watching its metric scores it (no state change), then the
detectors learn from it, except that baseline detectors (``learns``) skip readings that raised
an alarm. Late readings (older than the patient's last scored reading of that metric, e.g. a
backlog upload that arrives after newer data) are scored against the current state in their own
timestamp order and are not learned from, so state only moves forward; their findings say how
old the data was. Missing data is checked by the clock (``tick``), not only by arrivals.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from operator import attrgetter
from typing import Any, TypeVar
from uuid import UUID

from vigil.clinical.careplan import CarePlan
from vigil.clinical.findings import Finding, Severity
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.streaming.base import Detector, Observation, fmt
from vigil.streaming.base import finding as make_finding
from vigil.streaming.baseline import (
    RestingHeartRateAboveUsual,
    SpO2Drop,
    TemperatureAboveUsual,
    WeightAboveBaseline,
)
from vigil.streaming.forecast import PredictedLow
from vigil.streaming.missing import MissingData, PatientClock
from vigil.streaming.news2 import News2
from vigil.streaming.thresholds import (
    Fever,
    GlucoseOutOfRange,
    HeartRateOutOfRange,
    HypertensiveCrisis,
    SpO2Low,
)
from vigil.streaming.trends import HomeBPAverage, WeightGain
from vigil.streaming.usual import (
    NAMES,
    UNUSUAL_METRICS,
    VITALS,
    PersonalBaselines,
    Unusual,
    Usual,
    moving,
)

VITALS_SET = frozenset(VITALS)
_HEART_RATE, _STEPS = Metric.HEART_RATE, Metric.STEPS
"""Module constants for the per-reading tests: in Python 3.11 an enum member looked up on its
class goes through ``EnumType.__getattr__`` (several times a global's cost)."""

D = TypeVar("D", bound=Detector)


def default_detectors() -> list[Detector]:
    """The full detector set, fresh state (one list per patient)."""
    return [
        HypertensiveCrisis(),
        SpO2Low(),
        GlucoseOutOfRange(),
        HeartRateOutOfRange(),
        Fever(),
        WeightGain(),
        HomeBPAverage(),
        PredictedLow(),
        SpO2Drop(),
        WeightAboveBaseline(),
        News2(),
        RestingHeartRateAboveUsual(),
        TemperatureAboveUsual(),
    ]


class PatientState:
    """One patient's state, compact: detectors are built at the first reading of a metric they
    watch (a patient with a cuff and a scale has no glucose forecast), detectors without state
    of their own are one instance shared by every patient, and the care plan is one object per
    distinct plan (:meth:`StreamEngine._intern`)."""

    __slots__ = ("detectors", "latest", "plan", "usual")

    def __init__(self, plan: CarePlan, slots: int) -> None:
        self.plan = plan
        self.detectors: list[Detector | None] = [None] * slots
        """This patient's own detectors (None: not built yet), in the order of the engine's
        detectors with state (``_DetectorSet.own``)."""
        self.latest: dict[Metric, tuple[datetime, float]] = {}
        self.usual = PersonalBaselines()
        """What is usual for this patient (every vital): in every finding's explanation; it
        also keeps the runs of readings unusual for the patient."""


class _DetectorSet:
    """The engine's detectors, from one template list (``detectors()``): which watch each
    metric, in the template's order, and how each patient's own are made."""

    __slots__ = ("by_metric", "learners", "own", "slot", "templates", "watching")

    def __init__(self, templates: list[Detector]) -> None:
        self.templates = templates
        self.own = [i for i, det in enumerate(templates) if not _stateless(det)]
        """The templates each patient has a copy of (the others are shared)."""
        self.slot = [self.own.index(i) if i in self.own else -1 for i in range(len(templates))]
        """Where a template's copy sits in a patient's ``detectors`` (-1: shared)."""
        self.by_metric: dict[Metric, tuple[int, ...]] = {}
        for index, det in enumerate(templates):
            for metric in det.metrics:
                self.by_metric[metric] = (*self.by_metric.get(metric, ()), index)
        self.watching = {
            metric: tuple((self.slot[i], templates[i]) for i in indices)
            for metric, indices in self.by_metric.items()
        }
        """For each metric, (slot, template) of the detectors watching it, in order."""
        self.learners = {
            metric: tuple(self.slot[i] for i in indices if self.slot[i] >= 0)
            for metric, indices in self.by_metric.items()
        }
        """For each metric, the slots of the patient's own detectors watching it, in order:
        the detectors that learn (a shared one has no state to learn into)."""

    def build(self, own: list[Detector | None], slot: int) -> Detector:
        """The patient's own copy of the template in ``slot``, made at its first reading."""
        det = own[slot] = copy.deepcopy(self.templates[self.own[slot]])
        _share(det, own)
        return det


def _share(det: Detector, own: list[Detector | None]) -> None:
    """A patient's new detector takes the state it shares with the patient's other detectors
    (``shared``: attribute names, e.g. the glucose rules' one noise-aware filter), so that it
    is kept, and learned, once."""
    for name in getattr(det, "shared", ()):
        for other in own:
            if other is not None and other is not det and name in getattr(other, "shared", ()):
                setattr(det, name, getattr(other, name))
                break


def _stateless(det: Detector) -> bool:
    """A detector with no instance attributes at all (a rule over the reading and the latest
    values) can serve every patient."""
    if getattr(det, "__dict__", None):
        return False
    return not any(
        hasattr(det, slot) for cls in type(det).__mro__ for slot in getattr(cls, "__slots__", ())
    )


class StreamEngine:
    """Scores readings for many patients; not thread-safe (one detect thread owns it)."""

    def __init__(
        self,
        *,
        plan_for: Callable[[UUID], CarePlan] | None = None,
        detectors: Callable[[], list[Detector]] = default_detectors,
        missing: MissingData | None = None,
        unusual: bool = False,
    ) -> None:
        """``unusual``: also raise low-severity "unusual for this patient" findings (off by
        default: docs/detectors.md has what they cost in false alerts). ``detectors`` is called
        once: its fresh detectors are the templates each patient's own are copied from."""
        self.plan_for = plan_for or (lambda _patient: CarePlan())
        self.unusual = unusual
        self.unusual_rule = Unusual()
        self.make_detectors = detectors
        self.detectors = _DetectorSet(detectors())
        self.missing = missing or MissingData()
        self.patients: dict[UUID, PatientState] = {}
        self._plans: dict[str, CarePlan] = {}
        self._plan_parts: dict[str, Any] = {}

    def _intern(self, plan: CarePlan) -> CarePlan:
        """One object for each distinct care plan, and for each distinct part of one (most
        patients share their conditions' defaults and differ, if at all, in a limit or their
        time zone): a plan is immutable, so patients may share it."""
        known = self._plans.get(repr(plan))
        if known is not None:
            return known
        parts = self._plan_parts
        shared = dataclasses.replace(
            plan,
            conditions=parts.setdefault(repr(plan.conditions), plan.conditions),
            thresholds=parts.setdefault(repr(plan.thresholds), plan.thresholds),
            targets=parts.setdefault(repr(plan.targets), plan.targets),
            time_zone=parts.setdefault(repr(plan.time_zone), plan.time_zone),
            insulin=parts.setdefault(repr(plan.insulin), plan.insulin),
        )
        return self._plans.setdefault(repr(plan), shared)

    def _state(self, patient_id: UUID) -> PatientState:
        """The patient's state (made at their first reading)."""
        state = self.patients.get(patient_id)
        if state is None:
            plan = self._intern(self.plan_for(patient_id))
            state = PatientState(plan, len(self.detectors.own))
            self.patients[patient_id] = state
        return state

    def own_detector(self, patient_id: UUID, kind: type[D]) -> D | None:
        """The patient's own detector of ``kind`` as it holds now (None: the patient has sent
        nothing it watches yet, or the engine has none of that kind), for a report that shows
        what a detector holds (the usual weight) rather than computing it again."""
        state = self.patients.get(patient_id)
        if state is None:
            return None
        return next((d for d in state.detectors if isinstance(d, kind)), None)

    def set_care_plan(self, patient_id: UUID, plan: CarePlan) -> None:
        """A clinician changed the plan: thresholds apply from the next reading on."""
        self._state(patient_id).plan = self._intern(plan)

    def process(self, readings: Sequence[StoredReading]) -> list[Finding]:
        """Score (then learn) each reading in timestamp order; returns the findings."""
        if len(readings) == 1:  # no grouping or sorting
            reading = readings[0]
            patient_id = reading.patient_id
            state = self._state(patient_id)
            clock = self.missing.clock(patient_id, reading.time, reading.received_at)
            is_late = self._arrived(state, clock, reading)
            found = self._score_and_learn(state, reading, not is_late, state.latest)
            return found if len(found) < 2 else _distinct(found)
        findings: list[Finding] = []
        for state, clock, group in self._groups(readings):
            findings += self._measurement(state, clock, group)
        return findings if len(findings) < 2 else _distinct(findings)

    def restore(self, history: Iterable[StoredReading]) -> int:
        """Rebuild state from stored history (oldest first) without emitting findings."""
        count = 0
        for state, clock, group in self._groups(history):
            self._measurement(state, clock, group)
            count += len(group)
        return count

    def tick(self, now: datetime) -> list[Finding]:
        return self.missing.check(now)

    def _groups(
        self, readings: Iterable[StoredReading]
    ) -> Iterator[tuple[PatientState, PatientClock, list[StoredReading]]]:
        """Readings grouped by (patient, time), in (patient, time) order for a batch, each
        group with its patient's state and missing-data clock, looked up once for a run of
        groups of one patient (a message's readings share their patient id; hashing a UUID is
        a Python call)."""
        if isinstance(readings, Sequence):
            readings = _ordered(readings)
        held: tuple[PatientState, PatientClock, list[StoredReading]] | None = None
        patient: object = None
        time: datetime | None = None
        for reading in readings:
            patient_id = reading.patient_id
            if held is not None:
                if reading.time == time and (patient_id is patient or patient_id == patient):
                    held[2].append(reading)
                    continue
                yield held
                if patient_id is patient:
                    held, time = (held[0], held[1], [reading]), reading.time
                    continue
            state = self._state(patient_id)
            clock = self.missing.clock(patient_id, reading.time, reading.received_at)
            held, patient, time = (state, clock, [reading]), patient_id, reading.time
        if held is not None:
            yield held

    def _measurement(
        self, state: PatientState, clock: PatientClock, group: list[StoredReading]
    ) -> list[Finding]:
        """Readings of one patient taken at one instant (a cuff's systolic, diastolic and pulse;
        an oximeter's SpO2, pulse and rate) are seen together: all update the latest values
        before any is scored."""
        if len(group) == 1:  # most readings: a CGM's, a wearable's, a scale's
            reading = group[0]
            is_late = self._arrived(state, clock, reading)
            return self._score_and_learn(state, reading, not is_late, state.latest)
        late = [self._arrived(state, clock, reading) for reading in group]
        latest: Mapping[Metric, tuple[datetime, float]] = state.latest
        if any(late):
            # Late readings see their own instant's values (a cuff's systolic with its own
            # diastolic), over the newest of the rest; state itself is not rewound.
            latest = {**state.latest, **{r.metric: (r.time, r.value) for r in group}}
        found: list[Finding] = []
        for reading, is_late in zip(group, late, strict=True):
            found += self._score_and_learn(
                state, reading, not is_late, latest if is_late else state.latest
            )
        return found

    def _arrived(self, state: PatientState, clock: PatientClock, reading: StoredReading) -> bool:
        """Note a reading's arrival (the latest value of its metric, unless it is older than
        that one; the missing-data clock); True if it is late."""
        metric, time, latest = reading.metric, reading.time, state.latest
        previous = latest.get(metric)
        is_late = previous is not None and time <= previous[0]
        if not is_late:
            latest[metric] = (time, reading.value)
        self.missing.note(clock, reading.device_id, time, reading.received_at, metric)
        return is_late

    def _score_and_learn(
        self,
        state: PatientState,
        reading: StoredReading,
        learn: bool,
        latest: Mapping[Metric, tuple[datetime, float]],
    ) -> list[Finding]:
        """Score the reading with every detector watching its metric, then (``learn``: not
        late) let them and the personal baselines learn it; ``latest``: the values it sees."""
        metric, time, value = reading.metric, reading.time, reading.value
        usual_state, plan = state.usual, state.plan
        obs = Observation(
            reading.patient_id,
            time,
            metric,
            value,
            reading.device_id,
            reading.received_at,
            plan,
            latest,
            reading.censored,
            usual_state,
            time.timestamp(),
        )
        detectors = self.detectors
        own = state.detectors
        found: list[Finding] = []
        for slot, template in detectors.watching.get(metric, ()):
            if slot < 0:
                det = template
            else:  # the patient's own copy of the template, built at its first reading
                mine = own[slot]
                det = detectors.build(own, slot) if mine is None else mine
            f = det.score_one(obs)
            if f is not None:
                found.append(f)
        zone = plan.time_zone
        unusual = metric in UNUSUAL_METRICS
        direction = 0  # glucose, steps, a pump's records: never unusual, no run of departures
        if unusual:
            rule = self.unusual_rule
            usual = usual_state.usual(metric, time, zone)
            direction = rule.departure(usual, value)
            if (
                self.unusual
                and learn
                and not found
                and usual is not None
                and rule.confirmed(usual_state, metric, direction)
            ):
                found.append(_unusual_finding(obs, usual))
        if found:
            found = [_with_usual(f, usual_state, zone) for f in found]
        if not learn:
            return found
        # Only the patient's own detectors learn: a shared one has no state to learn into.
        for slot in detectors.learners.get(metric, ()):
            learner = own[slot]  # built when it scored
            if not (found and learner.learns):  # type: ignore[union-attr]
                learner.learn_one(obs)  # type: ignore[union-attr]
        if unusual:
            run = self.unusual_rule.remember(usual_state, metric, direction)
            if (
                not found
                and self.unusual_rule.learnable(run)
                and not (metric is _HEART_RATE and moving(obs))
            ):  # a heart rate raised by a walk is not the patient's usual (resting) rate
                usual_state.learn(metric, time, value, zone, obs.epoch)
        elif metric is _STEPS:
            usual_state.note_activity(time, value)
        elif not found and metric in VITALS_SET:
            usual_state.learn(metric, time, value, zone, obs.epoch)
        return found


def _distinct(findings: list[Finding]) -> list[Finding]:
    """The findings, each (patient, cause, time) once (the first of them)."""
    if len(findings) < 2:
        return findings
    seen: set[tuple[UUID, str, datetime]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.patient_id, f.cause, f.time)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _with_usual(f: Finding, baselines: PersonalBaselines, zone: tzinfo) -> Finding:
    """The finding, its explanation saying what is usual for this patient."""
    metrics = tuple(Metric(m) for m in f.metrics if m in _METRIC_VALUES)
    usual = baselines.describe(metrics, f.time, zone)
    if not usual:
        return f
    explanation = dataclasses.replace(
        f.explanation,
        sentence=f"{f.explanation.sentence} {usual['en']}",
        details={**f.explanation.details, "usual": usual},
    )
    return dataclasses.replace(f, explanation=explanation)


_METRIC_VALUES = frozenset(m.value for m in Metric)


def _unusual_finding(obs: Observation, usual: Usual) -> Finding:
    delta = obs.value - usual.mean
    word = "above" if delta > 0 else "below"
    name = NAMES[obs.metric][0]
    return make_finding(
        obs,
        detector="personal_baseline",
        cause="unusual_for_patient",
        severity=Severity.INFO,
        score=abs(delta) / max(usual.sd, 1e-6),
        sentence=f"{name[0].upper()}{name[1:]} {fmt(obs.metric, obs.value)}, "
        f"{fmt(obs.metric, abs(delta))} {word} what is usual for this patient (two readings in a "
        "row).",
        baseline=usual.mean,
    )


def _order(r: StoredReading) -> tuple[int | str, datetime, Metric]:
    """(patient, time, metric): a UUID's 128-bit integer sorts as its hex text does (fixed
    width), without formatting it for every reading."""
    pid = r.patient_id
    return (pid.int if isinstance(pid, UUID) else str(pid)), r.time, r.metric  # a str enum


_order_in_message = attrgetter("time", "metric")
"""(time, metric): :func:`_order` for readings of one patient, without a Python call a reading."""


def _ordered(readings: Sequence[StoredReading]) -> Sequence[StoredReading]:
    """A batch in (patient, time, metric) order."""
    if len(readings) < 2:
        return readings
    first = readings[0].patient_id
    key: Callable[[StoredReading], tuple[Any, ...]] = _order_in_message
    for reading in readings:
        if reading.patient_id is not first:  # readings of several patients
            key = _order
            break
    return sorted(readings, key=key)
