"""Detection quality: run readings through the detectors and score alerts against the truth.

The run is what `vigil serve` does without broker or database: each message's readings are one
batch for :meth:`StreamEngine.process`, in publish order (so backlog uploads arrive late), and the
clock ticks every ``tick`` of publish time for the missing-data checks.

Findings become **alerts** as the alerts stage would show them: one alert per patient and cause,
updated by later findings; it is considered resolved once its cause has been quiet for
``quiet`` (24 h: a care team resolves an alert once the patient is fine), and a later finding opens
a new one. An alert **matches** a truth event of the same patient when a kind that the alert's
cause is mapped to (:data:`KIND_CAUSES`) is the event's kind and the data time of one of the
alert's findings (the one that opened it, or a later one that updated it) falls within
``[start - before, end + after]`` (1 h before, 12 h after by default).

- recall per kind: events with a matching alert / events (non-events excluded);
- precision per kind: alerts of the kind's causes matching an event of that kind / those alerts,
  leaving out alerts that matched only events of other kinds;
- median delay: event start to when the first matching finding could be seen by a nurse, the
  publish time of the reading that raised it (or the clock tick), so upload lateness counts;
  0 if the alert was already open. Also in data time (``median_delay_data_s``) and in readings
  of the event's metric up to the one that raised it;
- false alerts per patient-week: alerts matching no event (alerts on non-events count as false).
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from vigil.streaming.engine import StreamEngine
from vigil.streaming.eval_data import EvalData, TruthEvent
from vigil.streaming.findings import Finding

KIND_CAUSES: dict[str, frozenset[str]] = {
    "hypertensive_crisis": frozenset({"hypertensive_crisis"}),
    "bp_above_target": frozenset({"bp_above_target"}),
    "hypoglycemia": frozenset({"hypoglycemia", "hypoglycemia_urgent", "predicted_low"}),
    "hypoglycemia_urgent": frozenset({"hypoglycemia_urgent"}),
    "hyperglycemia": frozenset({"hyperglycemia"}),
    "hf_decompensation": frozenset({"hf_decompensation", "news2"}),
    "copd_exacerbation": frozenset({"copd_exacerbation", "spo2_low", "news2"}),
    "spo2_low": frozenset({"spo2_low"}),
    "tachycardia": frozenset({"tachycardia", "news2"}),
    "bradycardia": frozenset({"bradycardia"}),
    "fever": frozenset({"fever", "news2"}),
    "missed_measurements": frozenset({"missed_measurements", "device_silent"}),
}
"""The one place that says which alert causes detect which truth kind. The NEWS2-style score
is an aggregate of vital signs: it detects any deterioration it sees (exacerbation, fever,
tachycardia, decompensation), so it is mapped to each."""

SHOWN_BY: dict[str, tuple[str, str, float]] = {
    "hypertensive_crisis": ("bp_systolic", ">=", 180.0),
    "hypoglycemia_urgent": ("glucose", "<", 54.0),
    "spo2_low": ("spo2", "<", 88.0),
}
"""Kinds whose truth is defined by a reading crossing a line (docs/device_sim.md): their delay
in readings counts from the first reading that crosses it (1 = alerted on that very reading).
Diastolic-only crises count from the event start."""

DELAY_METRIC: dict[str, str] = {
    "hf_decompensation": "body_weight",
    "copd_exacerbation": "spo2",
    "fever": "body_temperature",
    "tachycardia": "heart_rate",
    "bradycardia": "heart_rate",
}
"""For kinds whose truth lists several metrics, the one whose readings the delay counts (an HF
patient's wearable heart rate would otherwise count hundreds of readings per weighing)."""

HF_LEAD = timedelta(hours=24)
"""Heart-failure decompensation also counts as detected early when an alert falls at least this
long before the event's end (the bar: detected a day before the admission it precedes)."""


@dataclass(slots=True)
class Alert:
    patient: str
    cause: str
    times: list[datetime] = field(default_factory=list)
    """Data times of the findings that opened and updated it."""
    seen: list[datetime] = field(default_factory=list)
    """When each of those findings could be seen: data time plus its age (late uploads)."""

    @property
    def last(self) -> datetime:
        return self.times[-1]


@dataclass(slots=True)
class EvalConfig:
    before: timedelta = timedelta(hours=1)
    """An alert's finding this long before an event's start still matches it."""
    after: timedelta = timedelta(hours=12)
    """And this long after its end."""
    quiet: timedelta = timedelta(hours=24)
    tick: timedelta = timedelta(minutes=15)


def run_detectors(data: EvalData, config: EvalConfig | None = None) -> list[Finding]:
    """Every finding the engine emits on the data, ticks included."""
    config = config or EvalConfig()
    engine = StreamEngine(plan_for=data.plan_for)
    findings: list[Finding] = []
    next_tick: datetime | None = None
    for batch in data.batches:
        if next_tick is None:
            next_tick = batch.received_at + config.tick
        while batch.received_at >= next_tick:
            findings += engine.tick(next_tick)
            next_tick += config.tick
        findings += engine.process(batch.readings)
    if next_tick is not None:
        findings += engine.tick(next_tick)
    return findings


def collapse(findings: Iterable[Finding], data: EvalData, quiet: timedelta) -> list[Alert]:
    """One open alert per patient and cause; a cause quiet for ``quiet`` closes its alert."""
    alerts: list[Alert] = []
    open_: dict[tuple[str, str], Alert] = {}
    for f in sorted(findings, key=lambda f: f.time):
        key = (data.name_of(f.patient_id), f.cause)
        alert = open_.get(key)
        if alert is None or f.time - alert.last > quiet:
            alert = open_[key] = Alert(key[0], f.cause)
            alerts.append(alert)
        alert.times.append(f.time)
        alert.seen.append(f.time + timedelta(seconds=f.age_s))
    return alerts


def _matches(alert: Alert, event: TruthEvent, config: EvalConfig) -> datetime | None:
    """The first of the alert's findings inside the event's window, or None."""
    if alert.patient != event.patient or alert.cause not in KIND_CAUSES.get(event.kind, ()):
        return None
    lo, hi = event.start - config.before, event.end + config.after
    return next((t for t in alert.times if lo <= t <= hi), None)


def _seen(alert: Alert, event: TruthEvent, config: EvalConfig) -> datetime:
    """When the first of the alert's findings inside the event's window could be seen."""
    lo, hi = event.start - config.before, event.end + config.after
    return min(s for t, s in zip(alert.times, alert.seen, strict=True) if lo <= t <= hi)


def score(
    data: EvalData, findings: list[Finding], config: EvalConfig | None = None
) -> dict[str, Any]:
    """The report: per truth kind and overall (the JSON `vigil eval` prints)."""
    config = config or EvalConfig()
    alerts = collapse(findings, data, config.quiet)
    by_patient: dict[str, list[Alert]] = defaultdict(list)
    for a in alerts:
        by_patient[a.patient].append(a)
    reading_times = _reading_times(data)
    events = [e for e in data.truth if not e.non_event]
    matched_kinds: dict[int, set[str]] = defaultdict(set)
    per_kind: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        firsts = []
        matching = []
        for alert in by_patient.get(event.patient, ()):
            first = _matches(alert, event, config)
            if first is not None:
                matched_kinds[id(alert)].add(event.kind)
                firsts.append(first)
                matching.append(alert)
        stats = per_kind[event.kind]
        stats["hit"].append(bool(firsts))
        if firsts:
            first = min(firsts)
            stats["delay_data_s"].append(max(0.0, (first - event.start).total_seconds()))
            stats["delay_readings"].append(_readings_until(reading_times, event, first))
            seen = min(_seen(a, event, config) for a in matching)
            stats["delay_s"].append(max(0.0, (seen - event.start).total_seconds()))
        if event.kind == "hf_decompensation":
            # Seen (not only measured) a day before the event's end.
            early = [_seen(a, event, config) for a in matching]
            stats["early"].append(any(t <= event.end - HF_LEAD for t in early))
    report: dict[str, Any] = {"events": {}}
    for kind in sorted(set(KIND_CAUSES) | set(per_kind)):
        stats = per_kind.get(kind, {})
        hits = stats.get("hit", [])
        causes = KIND_CAUSES.get(kind, frozenset())
        # Alerts of this kind's causes, less those that were right about another kind (a
        # spo2_low alert on a spo2_low event says nothing about copd_exacerbation's precision).
        kind_alerts = [
            a
            for a in alerts
            if a.cause in causes and (kind in matched_kinds[id(a)] or not matched_kinds[id(a)])
        ]
        true_alerts = [a for a in kind_alerts if kind in matched_kinds[id(a)]]
        row: dict[str, Any] = {
            "recall": _ratio(sum(hits), len(hits)),
            "precision": _ratio(len(true_alerts), len(kind_alerts)),
            "median_delay_s": _median(stats.get("delay_s", [])),
            "median_delay_readings": _median(stats.get("delay_readings", [])),
            "median_delay_data_s": _median(stats.get("delay_data_s", [])),
            "n": len(hits),
            "alerts": len(kind_alerts),
        }
        if kind == "hf_decompensation":
            row["recall_24h_before_end"] = _ratio(sum(stats.get("early", [])), len(hits))
        report["events"][kind] = row
    false_alerts = [a for a in alerts if not matched_kinds[id(a)]]
    weeks = len(data.patients) * data.span_s / (7 * 86400)
    all_hits = [h for s in per_kind.values() for h in s.get("hit", [])]
    report["overall"] = {
        "recall": _ratio(sum(all_hits), len(all_hits)),
        "precision": _ratio(len(alerts) - len(false_alerts), len(alerts)),
        "false_alerts_per_patient_week": round(len(false_alerts) / weeks, 3) if weeks else None,
        "alerts": len(alerts),
        "false_alerts": len(false_alerts),
        "false_alerts_by_cause": _count(a.cause for a in false_alerts),
        "events": len(all_hits),
        "patients": len(data.patients),
        "patient_weeks": round(weeks, 1),
    }
    return report


def evaluate(data: EvalData, config: EvalConfig | None = None) -> dict[str, Any]:
    return score(data, run_detectors(data, config), config)


Timeline = list[tuple[datetime, str, float]]


def _reading_times(data: EvalData) -> dict[str, Timeline]:
    times: dict[str, Timeline] = defaultdict(list)
    for batch in data.batches:
        for r in batch.readings:
            times[data.name_of(r.patient_id)].append((r.time, r.metric.value, r.value))
    for values in times.values():
        values.sort()
    return times


def _readings_until(reading_times: dict[str, Timeline], event: TruthEvent, first: datetime) -> int:
    """Measurements (distinct times) of the event's metrics from its start, or from the first
    reading that shows it (:data:`SHOWN_BY`), up to ``first``."""
    times = reading_times.get(event.patient, [])
    lo = bisect.bisect_left(times, (event.start - timedelta(hours=6), "", 0.0))
    hi = bisect.bisect_right(times, (first, "~", 0.0))
    metrics = {DELAY_METRIC[event.kind]} if event.kind in DELAY_METRIC else event.metrics
    window = [(t, m, v) for t, m, v in times[lo:hi] if not metrics or m in metrics]
    rule = SHOWN_BY.get(event.kind)
    start = event.start
    if rule is not None:
        metric, op, line = rule
        shown = [t for t, m, v in window if m == metric and (v < line if op == "<" else v >= line)]
        start = min(shown, default=event.start)
    return len({t for t, _, _ in window if t >= start})


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def _median(values: list[Any]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        out[item] += 1
    return dict(sorted(out.items()))
