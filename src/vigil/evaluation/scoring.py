"""Detection quality: run readings through the detectors and score alerts against the truth.

The run is what `vigil serve` does without broker or database: each message's readings are one
batch for :meth:`StreamEngine.process`, in publish order (so backlog uploads arrive late), and the
clock ticks every ``tick`` of publish time for the missing-data checks.

Findings become **alerts** by the alerts stage's own rule (:class:`AlertGrouping`, the code
:class:`~vigil.alerts.AlertService` uses): one alert per patient and episode (related causes of
one state), updated by later findings; it resolves when its episode has ended (the team is
assumed to acknowledge every alert it is shown), a finding within the policy's quiet period
after that reopens it (the nurse is told again), a later one opens a new alert. An alert
**matches** a truth event of the same patient when one of its findings has a cause that
detects the event's kind (:data:`KIND_CAUSES`) and a data time within
``[start - before, end + after]``: 1 h before and **no after-window** by default (an alert after
the event's end was not about it; ``after`` widens it, and the report says what was used).

- recall per kind: events with a matching alert / events (non-events excluded);
- precision per kind: alerts with a finding of the kind's causes matching an event of that
  kind / those alerts, leaving out alerts that matched only events of other kinds;
- delay, **signed** (negative: before the event started): event start to when the first
  matching finding could be seen by a nurse, the publish time of the reading that raised it (or
  the clock tick), so upload lateness counts (``median_delay_s``); the same in data time
  (``median_delay_data_s``); from the first finding of the matching alert in the event's window,
  whatever its cause (``median_episode_delay_s``: when the nurse was first told of this state,
  e.g. a predicted low before an urgent one); in readings of the event's metric up to the one
  that raised it; for kinds defined by a line (:data:`SHOWN_BY`), also from the first reading
  that crosses it, searched from ``before`` the event's start to its end
  (``median_delay_from_line_s``, and ``median_episode_delay_from_line_s`` for the episode:
  negative when the nurse was told of the state before that reading);
- **lead**, for those kinds: from the episode's first alert (any cause of the episode: a
  predicted low, a low, an urgent low) to the event's start, the truth crossing the line
  (``median_lead_s``, the share of events 15 minutes or more ahead ``lead_15min_share``), and
  to the first reading across the line (``median_lead_from_line_s``);
- alerts per event: openings and reopenings of matching alerts from an hour before the event
  to its end, per detected event (a nurse told three times of one episode counts 3; at least 1),
  and as a nurse counts with a 30-minute quiet gap (:mod:`vigil.evaluation.nurse`,
  ``nurse_alerts_per_event``);
- false alerts: alerts matching no event, with their reopenings (what a nurse would be told),
  per patient-day and per patient-week, overall and for CGM patients, and **per family**
  (:func:`family`: low glucose, high glucose, the rest) both ways, Vigil's episodes and the
  nurse's 30-minute gap (``false_by_family``), low and high glucose per patient-day of the
  patients with glucose readings;
- over-escalation: every critical alert (true or false) that matched no event of a critical kind
  (``over_escalated``), and for low glucose the critical alerts not at a level-2 event
  (``false_by_family.low_glucose.critical_not_at_urgent``), with the true glucose at their
  first critical finding when the truth has it.
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

from vigil.alerts import AlertPolicy
from vigil.alerts.episodes import AlertGrouping, EpisodeAlert, episode_of
from vigil.clinical.careplan import COPD_SPO2, DEFAULT_THRESHOLDS
from vigil.clinical.findings import Finding, Severity
from vigil.clinical.glycaemia import LEVEL_2_LOW
from vigil.core.metrics import Metric
from vigil.evaluation.data import EvalData, TruthEvent
from vigil.evaluation.nurse import NURSE_GAP, NurseAlert, nurse_alerts
from vigil.streaming.engine import StreamEngine

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
tachycardia, decompensation), so it is mapped to each. The optional "unusual for this patient"
finding (a vital far from the patient's own usual value) is a true alert when it falls in an
event it could show (not the critical kinds: it never counts towards their recall)."""
CRITICAL_KINDS = frozenset({"hypertensive_crisis", "hypoglycemia_urgent", "spo2_low"})
"""The kinds a critical alert is for (the bar's "critical kinds"). Every critical alert that
matched none of them, true (right about something less: an urgent low called on a level-1 low)
or false, is counted as ``over_escalated``: a critical page for a state that was not critical."""

for _kind in (
    "bp_above_target",
    "hf_decompensation",
    "copd_exacerbation",
    "tachycardia",
    "bradycardia",
    "fever",
    "hyperglycemia",
):
    KIND_CAUSES[_kind] = KIND_CAUSES[_kind] | {"unusual_for_patient"}

ALERTED_BY: dict[str, str] = {"hypoglycemia_urgent": "hypoglycemia"}
"""A critical kind whose events a less severe alert of the same episode also tells the nurse
about: its ``recall`` needs the critical alert at the event, ``recall_any_severity`` any alert of
the episode's causes (a level-2 low that paged only as a level-1 low, or as urgent low soon)."""

SHOWN_BY: dict[str, tuple[str, str, float]] = {
    "hypertensive_crisis": ("bp_systolic", ">=", DEFAULT_THRESHOLDS[Metric.BP_SYSTOLIC].high or 0),
    "hypoglycemia_urgent": ("glucose", "<", LEVEL_2_LOW),
    "spo2_low": ("spo2", "<", COPD_SPO2.low or 0),
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
class EvalConfig:
    before: timedelta = timedelta(hours=1)
    """An alert's finding this long before an event's start still matches it."""
    after: timedelta = timedelta(0)
    """And this long after its end (none by default: an alert after the end was not about it)."""
    nurse_gap: timedelta = NURSE_GAP
    """A nurse's count: a quiet gap this long between findings makes the next a new alert."""
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    """The alerts stage's policy (its quiet period)."""
    tick: timedelta = timedelta(minutes=15)
    unusual: bool = False
    """Raise the low-severity "unusual for this patient" findings too (off by default)."""


def run_detectors(data: EvalData, config: EvalConfig | None = None) -> list[Finding]:
    """Every finding the engine emits on the data, ticks included."""
    config = config or EvalConfig()
    engine = StreamEngine(plan_for=data.plan_for, unusual=config.unusual)
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


def group(findings: Iterable[Finding], config: EvalConfig) -> list[EpisodeAlert]:
    """Alerts as the alerts stage makes them (:class:`AlertGrouping`)."""
    grouping = AlertGrouping(quiet_period=config.policy.quiet_period)
    grouping.extend(findings)
    return grouping.alerts


@dataclass(slots=True)
class Match:
    alert: EpisodeAlert
    first: datetime
    """Data time of the first matching finding."""
    seen: datetime
    """When the first matching finding could be seen."""
    episode_seen: datetime
    """When the alert's first finding in the event's window could be seen (any cause)."""
    episode_first: datetime
    """Data time of that finding."""
    told: int
    """Notifications (opening, reopenings) of the alert from the event's window start to its
    end (1 if it was open before)."""


def _match(alert: EpisodeAlert, event: TruthEvent, config: EvalConfig) -> Match | None:
    causes = KIND_CAUSES.get(event.kind, frozenset())
    lo, hi = event.start - config.before, event.end + config.after
    window = [(f, s) for f, s in zip(alert.findings, alert.seen, strict=True) if lo <= f.time <= hi]
    matching = [(f, s) for f, s in window if f.cause in causes]
    if not matching:
        return None
    # Told about this event: openings and reopenings up to its end; an alert already open
    # counts once; one opened after the end is another episode's (0 here, a match for recall).
    told = sum(1 for t in alert.notified if lo <= t <= event.end)
    if not told and alert.notified[0] < lo:
        told = 1
    return Match(
        alert,
        min(f.time for f, _ in matching),
        min(s for _, s in matching),
        min(s for _, s in window),
        min(f.time for f, _ in window),
        told,
    )


def score(
    data: EvalData, findings: list[Finding], config: EvalConfig | None = None
) -> dict[str, Any]:
    """The report: per truth kind and overall (the JSON `vigil eval` prints)."""
    return assess(data, findings, config).report


@dataclass(slots=True)
class Assessment:
    report: dict[str, Any]
    alerts: list[EpisodeAlert]
    matched_kinds: dict[int, set[str]]
    """Per alert (``id``): the kinds of the events it matched."""


def assess(data: EvalData, findings: list[Finding], config: EvalConfig | None = None) -> Assessment:
    """The report, with the alerts it counted and what each one matched."""
    config = config or EvalConfig()
    alerts = group(findings, config)
    by_patient: dict[str, list[EpisodeAlert]] = defaultdict(list)
    for a in alerts:
        by_patient[data.name_of(a.patient_id)].append(a)
    reading_times = _reading_times(data)
    events = [e for e in data.truth if not e.non_event]
    matched_kinds: dict[int, set[str]] = defaultdict(set)
    per_kind: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    nurse = nurse_alerts(findings, config.nurse_gap)
    nurse_by_patient: dict[str, list[NurseAlert]] = defaultdict(list)
    for n in nurse:
        nurse_by_patient[data.name_of(n.patient_id)].append(n)
    nurse_matched: dict[int, set[str]] = defaultdict(set)
    for event in events:
        told_by_nurse = [
            n
            for n in nurse_by_patient.get(event.patient, ())
            if _matches(n.findings, event, config)
        ]
        for n in told_by_nurse:
            nurse_matched[id(n)].add(event.kind)
        matches = [
            m
            for m in (_match(a, event, config) for a in by_patient.get(event.patient, ()))
            if m is not None
        ]
        for m in matches:
            matched_kinds[id(m.alert)].add(event.kind)
        stats = per_kind[event.kind]
        stats["hit"].append(bool(matches))
        if event.kind in ALERTED_BY:
            # Alerted at all (any severity of the episode): the nurse knew of this low, whether
            # or not the page was critical.
            wider = replace(event, kind=ALERTED_BY[event.kind])
            told_any = [
                m
                for m in (_match(a, wider, config) for a in by_patient.get(event.patient, ()))
                if m is not None
            ]
            stats["alerted"].append(bool(told_any))
            if told_any:
                first_seen = min(m.episode_seen for m in told_any)
                stats["lead_any_s"].append((event.start - first_seen).total_seconds())
        if matches:
            first = min(m.first for m in matches)
            stats["delay_data_s"].append((first - event.start).total_seconds())
            stats["delay_readings"].append(_readings_until(reading_times, event, first))
            seen = min(m.seen for m in matches)
            stats["delay_s"].append((seen - event.start).total_seconds())
            episode = min(m.episode_seen for m in matches)
            stats["episode_delay_s"].append((episode - event.start).total_seconds())
            stats["told"].append(max(1, sum(m.told for m in matches)))
            stats["nurse_told"].append(max(1, len(told_by_nurse)))
            episode_first = min(m.episode_first for m in matches)
            stats["lead_s"].append((event.start - episode).total_seconds())
            line = _line_crossed(reading_times, event, config)
            if line is not None:
                stats["line_delay_s"].append((first - line).total_seconds())
                stats["episode_line_delay_s"].append((episode_first - line).total_seconds())
        if event.kind == "hf_decompensation":
            # Seen (not only measured) a day before the event's end.
            stats["early"].append(any(m.seen <= event.end - HF_LEAD for m in matches))
    report: dict[str, Any] = {
        "window": {
            "before_h": config.before.total_seconds() / 3600,
            "after_h": config.after.total_seconds() / 3600,
            "nurse_gap_min": config.nurse_gap.total_seconds() / 60,
        },
        "events": {},
    }
    for kind in sorted(set(KIND_CAUSES) | set(per_kind)):
        report["events"][kind] = _kind_row(kind, per_kind.get(kind, {}), alerts, matched_kinds)
    report["overall"] = _overall(data, per_kind, alerts, matched_kinds)
    report["overall"]["false_by_family"] = false_by_family(
        data, alerts, matched_kinds, nurse, nurse_matched
    )
    return Assessment(report, alerts, matched_kinds)


def _matches(findings: list[Finding], event: TruthEvent, config: EvalConfig) -> bool:
    causes = KIND_CAUSES.get(event.kind, frozenset())
    lo, hi = event.start - config.before, event.end + config.after
    return any(f.cause in causes and lo <= f.time <= hi for f in findings)


FAMILIES = ("low_glucose", "high_glucose", "other")


def family(cause: str) -> str:
    """Which count a false alert goes to: low glucose (the low-glucose episode's causes), high
    glucose, or the rest."""
    key = episode_of(cause)
    if key == episode_of("hypoglycemia"):
        return "low_glucose"
    if key == episode_of("hyperglycemia"):
        return "high_glucose"
    return "other"


def false_by_family(
    data: EvalData,
    alerts: list[EpisodeAlert],
    matched_kinds: dict[int, set[str]],
    nurse: list[NurseAlert],
    nurse_matched: dict[int, set[str]],
) -> dict[str, dict[str, Any]]:
    """False alerts per family, counted with Vigil's episodes (openings and reopenings) and with
    a nurse's gap, per patient-day (glucose families: each patient with glucose readings from
    the first to the last of them, so that a patient worn for 3 days of a 5-day file counts 3);
    critical alerts that matched no critical event, per family."""
    days = len(data.patients) * data.span_s / 86400
    glucose_days = glucose_patient_days(data)
    out: dict[str, dict[str, Any]] = {}
    for fam in FAMILIES:
        span = days if fam == "other" else glucose_days
        mine = [a for a in alerts if family(a.findings[0].cause) == fam]
        false = [a for a in mine if not matched_kinds[id(a)]]
        told = sum(len(a.notified) for a in false)
        by_nurse = [n for n in nurse if family(n.findings[0].cause) == fam]
        nurse_false = [n for n in by_nurse if not nurse_matched[id(n)]]
        critical = [a for a in mine if a.severity is Severity.CRITICAL]
        over = [a for a in critical if not matched_kinds[id(a)] & CRITICAL_KINDS]
        row: dict[str, Any] = {
            "patient_days": round(span, 1),
            "alerts": len(mine),
            "false_alerts": len(false),
            "false_notifications": told,
            "false_per_patient_day": _per(told, span),
            "nurse_alerts": len(by_nurse),
            "nurse_false_alerts": len(nurse_false),
            "nurse_false_per_patient_day": _per(len(nurse_false), span),
            "critical_alerts": len(critical),
            "critical_not_at_critical_event": len(over),
            "critical_not_at_critical_event_per_patient_day": _per(len(over), span),
            "false_by_cause": _count(a.findings[0].cause for a in false),
        }
        if data.true_glucose and fam == "low_glucose":
            at_first = [_true_at_first_critical(data, a) for a in over]
            values = [v for v in at_first if v is not None]
            row["true_glucose_at_over_escalation"] = (
                {"min": round(min(values)), "median": _median(values), "max": round(max(values))}
                if values
                else None
            )
        out[fam] = row
    return out


def _true_at_first_critical(data: EvalData, alert: EpisodeAlert) -> float | None:
    first = next(f for f in alert.findings if f.severity is Severity.CRITICAL)
    return data.true_glucose_at(data.name_of(alert.patient_id), first.time)


def _kind_row(
    kind: str,
    stats: dict[str, list[Any]],
    alerts: list[EpisodeAlert],
    matched_kinds: dict[int, set[str]],
) -> dict[str, Any]:
    hits = stats.get("hit", [])
    causes = KIND_CAUSES.get(kind, frozenset())
    # Alerts with findings of this kind's causes, less those that were right about another
    # kind only (a spo2_low alert on a spo2_low event says nothing about copd_exacerbation).
    kind_alerts = [
        a
        for a in alerts
        if causes & set(a.causes) and (kind in matched_kinds[id(a)] or not matched_kinds[id(a)])
    ]
    true_alerts = [a for a in kind_alerts if kind in matched_kinds[id(a)]]
    row: dict[str, Any] = {
        "recall": _ratio(sum(hits), len(hits)),
        "precision": _ratio(len(true_alerts), len(kind_alerts)),
        "median_delay_s": _median(stats.get("delay_s", [])),
        "median_delay_readings": _median(stats.get("delay_readings", [])),
        "median_delay_data_s": _median(stats.get("delay_data_s", [])),
        "median_episode_delay_s": _median(stats.get("episode_delay_s", [])),
        "alerts_per_event": _mean(stats.get("told", [])),
        "nurse_alerts_per_event": _mean(stats.get("nurse_told", [])),
        "n": len(hits),
        "alerts": len(kind_alerts),
    }
    if kind in SHOWN_BY:
        row["median_delay_from_line_s"] = _median(stats.get("line_delay_s", []))
        row["median_episode_delay_from_line_s"] = _median(stats.get("episode_line_delay_s", []))
        leads = stats.get("lead_s", [])
        row["median_lead_s"] = _median(leads)
        row["lead_15min_share"] = _ratio(sum(lead >= 900 for lead in leads), len(leads))
        line_leads = [0.0 - d for d in stats.get("episode_line_delay_s", [])]
        row["median_lead_from_line_s"] = _median(line_leads)
    if kind in ALERTED_BY:
        row["recall_any_severity"] = _ratio(sum(stats.get("alerted", [])), len(hits))
        leads_any = stats.get("lead_any_s", [])
        row["median_lead_any_severity_s"] = _median(leads_any)
        row["lead_15min_share_any_severity"] = _ratio(
            sum(lead >= 900 for lead in leads_any), len(leads_any)
        )
    if kind == "hf_decompensation":
        row["recall_24h_before_end"] = _ratio(sum(stats.get("early", [])), len(hits))
    return row


def _overall(
    data: EvalData,
    per_kind: dict[str, dict[str, list[Any]]],
    alerts: list[EpisodeAlert],
    matched_kinds: dict[int, set[str]],
) -> dict[str, Any]:
    false_alerts = [a for a in alerts if not matched_kinds[id(a)]]
    told = sum(len(a.notified) for a in false_alerts)
    days = len(data.patients) * data.span_s / 86400
    cgm = cgm_patients(data)
    cgm_days = len(cgm) * data.span_s / 86400
    cgm_false = [a for a in false_alerts if data.name_of(a.patient_id) in cgm]
    cgm_told = sum(len(a.notified) for a in cgm_false)
    all_hits = [h for s in per_kind.values() for h in s.get("hit", [])]
    critical = [a for a in alerts if a.severity is Severity.CRITICAL]
    # Every critical alert, true or false, that was not at a critical event.
    over = [a for a in critical if not matched_kinds[id(a)] & CRITICAL_KINDS]
    return {
        "recall": _ratio(sum(all_hits), len(all_hits)),
        "precision": _ratio(len(alerts) - len(false_alerts), len(alerts)),
        "median_delay_s": _median([d for s in per_kind.values() for d in s.get("delay_s", [])]),
        "alerts_per_event": _mean([n for s in per_kind.values() for n in s.get("told", [])]),
        "false_alerts_per_patient_day": _per(told, days),
        "false_alerts_per_patient_week": _per(told, days / 7),
        "alerts": len(alerts),
        "notifications": sum(len(a.notified) for a in alerts),
        "false_alerts": len(false_alerts),
        "false_notifications": told,
        "false_alerts_by_cause": _count(a.findings[0].cause for a in false_alerts),
        "critical_alerts": len(critical),
        "over_escalated": len(over),
        "over_escalated_per_patient_week": _per(len(over), days / 7),
        "over_escalated_per_patient_day": _per(len(over), days),
        "cgm": {
            "patients": len(cgm),
            "false_alerts_per_patient_day": _per(cgm_told, cgm_days),
            "false_notifications": cgm_told,
            "false_by_cause": _count(a.findings[0].cause for a in cgm_false),
        },
        "events": len(all_hits),
        "patients": len(data.patients),
        "patient_weeks": round(days / 7, 1),
    }


def glucose_patients(data: EvalData) -> set[str]:
    """Patients with any glucose reading."""
    return {
        data.name_of(r.patient_id)
        for batch in data.batches
        for r in batch.readings
        if r.metric is Metric.GLUCOSE
    }


def glucose_patient_days(data: EvalData) -> float:
    """The days each patient with glucose readings wore the meter or sensor (from the first of
    them to the last), summed."""
    first: dict[UUID, datetime] = {}
    last: dict[UUID, datetime] = {}
    for batch in data.batches:
        for r in batch.readings:
            if r.metric is Metric.GLUCOSE:
                key = r.patient_id
                if key not in first or r.time < first[key]:
                    first[key] = r.time
                if key not in last or r.time > last[key]:
                    last[key] = r.time
    return sum((last[k] - first[k]).total_seconds() for k in first) / 86400


def cgm_patients(data: EvalData) -> set[str]:
    """Patients with a continuous glucose monitor: glucose readings 15 minutes apart or less
    (median interval)."""
    times: dict[str, list[float]] = defaultdict(list)
    for batch in data.batches:
        for r in batch.readings:
            if r.metric.value == "glucose":
                times[data.name_of(r.patient_id)].append(r.time.timestamp())
    out = set()
    for name, ts in times.items():
        ts.sort()
        gaps = [b - a for a, b in pairwise(ts) if b > a]
        if gaps and statistics.median(gaps) <= 15 * 60:
            out.add(name)
    return out


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


def _line_crossed(
    reading_times: dict[str, Timeline], event: TruthEvent, config: EvalConfig
) -> datetime | None:
    """Data time of the first reading inside the event's window that crosses the line that
    defines its kind (:data:`SHOWN_BY`), or None."""
    rule = SHOWN_BY.get(event.kind)
    if rule is None:
        return None
    metric, op, line = rule
    times = reading_times.get(event.patient, [])
    lo = bisect.bisect_left(times, (event.start - config.before, "", 0.0))
    hi = bisect.bisect_right(times, (event.end + config.after, "~", 0.0))
    return next(
        (t for t, m, v in times[lo:hi] if m == metric and (v < line if op == "<" else v >= line)),
        None,
    )


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def _mean(values: list[Any]) -> float | None:
    return round(float(statistics.fmean(values)), 2) if values else None


def _per(count: int, span: float) -> float | None:
    return round(count / span, 3) if span else None


def _median(values: list[Any]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        out[item] += 1
    return dict(sorted(out.items()))
