"""Run a scenario: patients, their events, measurements, device messages and the ground truth.

Each patient draws from their own ``random.Random`` seeded with ``"{seed}:{scenario}:{index}"``,
so a run is reproducible to the byte and patient 7 is the same person whether the run has 10
patients or 1,000.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.device_sim.devices import Message, device_messages
from vigil.device_sim.events import PLANNERS, PlanContext
from vigil.device_sim.measure import Measurer
from vigil.device_sim.models import DAY, Event, Sample, SimOutput
from vigil.device_sim.physiology import Physiology
from vigil.device_sim.planning import Timeline, eligible, plan_timeline
from vigil.device_sim.profiles import make_patient
from vigil.device_sim.scenarios import Scenario, scenario_named
from vigil.device_sim.schedule import measurement_times

log = logging.getLogger(__name__)

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
"""A Monday in winter: runs are reproducible without a ``start``."""


@dataclass(slots=True)
class _PatientRun:
    ctx: PlanContext
    timeline: Timeline


def _seeded(seed: int, scenario: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{scenario}:{index}")


def finalize_truth(events: list[Event], samples: list[Sample]) -> tuple[list[Event], int]:
    """Keep the events the emitted readings show; widen each to bracket those readings.

    Returns the kept events and how many were dropped (no reading happened to show them).
    """
    kept: list[Event] = []
    dropped = 0
    for event in events:
        if event.min_shown == 0:
            kept.append(event)
            continue
        shown = [
            s.ts
            for s in samples
            if event.start <= s.t <= event.end
            and any(rule.seen(m, v) for rule in event.shows for m, v in s.values)
        ]
        if len(shown) < event.min_shown:
            dropped += 1
            continue
        event.start = min(event.start, min(shown))
        event.end = max(event.end, max(shown))
        kept.append(event)
    return kept, dropped


def _plan(scenario: Scenario, patients: int, seed: int, start: int, end: int) -> list[_PatientRun]:
    runs = []
    for index in range(patients):
        rng = _seeded(seed, scenario.name, index)
        patient = make_patient(rng, index, scenario)
        days = (end - start) // DAY
        ctx = PlanContext(patient, Physiology(patient, rng, start, days), rng, short=days < 14)
        runs.append(_PatientRun(ctx, plan_timeline(ctx, start, end, scenario)))
    if scenario.every_kind:
        # At least three patients get each kind, so that it shows in some patient's readings.
        for kind in PLANNERS:
            having = sum(1 for r in runs if any(e.kind == kind for e in r.timeline.events))
            for run in sorted(runs, key=lambda r: len(r.timeline.groups)):
                if having >= 3:
                    break
                if any(e.kind == kind for e in run.timeline.events):
                    continue
                rate = scenario.rate(kind, run.ctx.patient.conditions)
                if rate > 0 and eligible(run.ctx, kind) and run.timeline.try_place(kind, 40):
                    having += 1
    return runs


def _simulate(
    run: _PatientRun, scenario: Scenario, start: int, end: int
) -> tuple[list[Message], list[Event], dict[str, int]]:
    ctx = run.ctx
    events = run.timeline.events
    times = measurement_times(ctx, events, start, end)
    measurer = Measurer(ctx, events, start)
    messages: list[Message] = []
    all_samples: list[Sample] = []
    for device in ctx.patient.devices:
        samples: list[Sample] = []
        seen: set[tuple[str, str]] = set()
        for t in times.get(device.kind, []):
            for sample in measurer.measure(device, t):
                key = (str(sample.item["metric"]), str(sample.item["ts"]))
                if key in seen:
                    continue  # the device reported two readings in one second: it keeps one
                seen.add(key)
                samples.append(sample)
        all_samples.extend(samples)
        messages.extend(
            device_messages(ctx.patient, device, samples, ctx.rng, scenario, start, end)
        )
    truth, dropped = finalize_truth(events, all_samples)
    stats = {
        "readings": len(all_samples),
        "values": measurer.values,
        "clamped": measurer.clamped,
        "dropped_events": dropped,
    }
    return messages, truth, stats


@dataclass(slots=True)
class PlannedRun:
    """Every patient of a run with their events placed; simulated one patient at a time."""

    scenario: Scenario
    start: datetime
    days: int
    runs: list[_PatientRun]

    @property
    def bounds(self) -> tuple[int, int]:
        t0 = int(self.start.timestamp())
        return t0, t0 + self.days * DAY

    def patients_json(self) -> list[dict[str, Any]]:
        return [r.ctx.patient.to_json() for r in self.runs]

    def simulate(self) -> Iterator[tuple[list[Message], list[Event], dict[str, int]]]:
        """Per patient: their messages, kept truth events and counters."""
        t0, t1 = self.bounds
        for run in self.runs:
            yield _simulate(run, self.scenario, t0, t1)


def message_key(m: Message) -> tuple[int, str, int]:
    """Publish order across patients."""
    return (m.publish_at, m.device_id, m.seq)


def event_key(e: Event) -> tuple[int, str, str]:
    return (e.start, e.patient_id, e.kind)


def plan_run(
    scenario: str,
    patients: int,
    days: int,
    seed: int,
    start: datetime | None = None,
    *,
    malformed_rate: float | None = None,
) -> PlannedRun:
    spec = scenario_named(scenario)
    if malformed_rate is not None:
        if not 0.0 <= malformed_rate <= 1.0:
            raise ValueError("malformed_rate must be between 0 and 1")
        spec = replace(spec, malformed_rate=malformed_rate)
    if patients < 0 or days < 1:
        raise ValueError("patients must be >= 0 and days >= 1")
    begin = start or DEFAULT_START
    if begin.tzinfo is None or begin.utcoffset() != timedelta(0):
        raise ValueError("start must be timezone-aware UTC")
    begin = begin.astimezone(UTC)
    t0 = int(begin.timestamp())
    return PlannedRun(spec, begin, days, _plan(spec, patients, seed, t0, t0 + days * DAY))


def add_stats(total: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        total[k] = total.get(k, 0) + v


def generate(
    scenario: str,
    patients: int,
    days: int,
    seed: int,
    start: datetime | None = None,
    *,
    malformed_rate: float | None = None,
) -> SimOutput:
    """Simulate ``patients`` patients for ``days`` days; no files, no broker.

    ``malformed_rate`` overrides the scenario's share of messages followed by a broken copy.

    >>> out = generate("standard", patients=2, days=2, seed=1)
    >>> [p["patient"] for p in out.patients]
    ['p0001', 'p0002']
    >>> out.messages[0]["publish_at"] <= out.messages[-1]["publish_at"]
    True
    """
    planned = plan_run(scenario, patients, days, seed, start, malformed_rate=malformed_rate)
    messages: list[Message] = []
    truth: list[Event] = []
    stats: dict[str, int] = {}
    for m, t, s in planned.simulate():
        messages.extend(m)
        truth.extend(t)
        add_stats(stats, s)
    messages.sort(key=message_key)
    truth.sort(key=event_key)
    stats["messages"] = len(messages)
    stats["malformed"] = sum(1 for m in messages if m.line["malformed"])
    log.info("simulated %d patients for %d days: %s", patients, days, stats)
    return SimOutput(
        patients=planned.patients_json(),
        messages=[m.line for m in messages],
        truth=[e.to_json() for e in truth],
        start=planned.start,
        end=planned.start + timedelta(days=days),
        scenario=scenario,
        seed=seed,
        stats=stats,
    )
