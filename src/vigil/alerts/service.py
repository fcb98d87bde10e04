"""The alert lifecycle: findings open or update alerts; people acknowledge, snooze, resolve;
the clock escalates unacknowledged critical alerts and wakes snoozed ones.

One unresolved alert per patient and episode (:mod:`vigil.alerts.episodes`: related causes of
one physiological state, such as a predicted, a confirmed and an urgent low): later findings
update it (count, current cause, last and worst value, worst severity). A finding within the
quiet period after its episode's alert was resolved reopens that alert rather than opening a
new one, so values flapping around a threshold do not churn alerts. The clock resolves a seen
alert (acknowledged or snoozed) once its episode has ended.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.pq import TransactionStatus

from vigil.alerts import repo
from vigil.alerts.batch import Writes
from vigil.alerts.episodes import (
    Step,
    ends_after,
    has_ended,
    next_step,
    rule_for,
    shortest_end,
    worse,
)
from vigil.alerts.lifecycle import (
    CHANNEL,
    Conn,
    Lifecycle,
    explanation_json,
    now_utc,
    reading_json,
)
from vigil.alerts.models import (
    Alert,
    AlertChange,
    AlertState,
    ChangeKind,
    Outcome,
)
from vigil.clinical.findings import Finding, Severity
from vigil.core.errors import Conflict, NotFound
from vigil.core.models import StoredReading

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "AlertService"]


def _key_order(key: tuple[UUID, str]) -> tuple[str, str]:
    return str(key[0]), key[1]


def _atomic(conn: Conn) -> AbstractContextManager[object]:
    """The caller's transaction when it has one (no savepoint: two round trips for nothing,
    as an error rolls the caller's transaction back anyway), else a transaction of its own."""
    if conn.info.transaction_status == TransactionStatus.INTRANS:
        return nullcontext()
    return conn.transaction()


class AlertService(Lifecycle):
    """Stateless apart from its policy: safe to share between threads."""

    # -- from detectors ---------------------------------------------------------------------

    def apply(
        self,
        conn: Conn,
        findings: Sequence[Finding],
        *,
        readings: Sequence[StoredReading] = (),
        now: datetime | None = None,
    ) -> list[AlertChange]:
        """Turn findings into alert changes, in one transaction, with a bounded number of round
        trips whatever the number of findings (:mod:`vigil.alerts.batch`): one statement locks
        every alert the batch touches, one pipeline writes them, their trail, their outbox
        rows and the NOTIFYs. Inside the caller's transaction when there is one (a detect
        worker's, which also records its progress), else in one of its own.

        ``readings`` are the readings the findings were scored from: late ones answer (resolve)
        open missing-data alerts whose gap they fill.
        """
        now = now or now_utc()
        changes: list[AlertChange] = []
        with _atomic(conn):
            ordered = sorted(findings, key=lambda f: (str(f.patient_id), f.cause, f.time))
            groups: dict[tuple[UUID, str], list[tuple[int, Finding]]] = {}
            for i, finding in enumerate(ordered):
                key = (finding.patient_id, rule_for(finding.cause).key)
                groups.setdefault(key, []).append((i, finding))
            by_patient: dict[UUID, list[StoredReading]] = {}
            for r in readings:
                by_patient.setdefault(r.patient_id, []).append(r)
            unresolved, missing = repo.lock_for_findings(
                conn, keys=sorted(groups, key=_key_order), readers=sorted(by_patient, key=str)
            )
            if missing:
                answered = self._answer_missing_data(conn, missing, by_patient, now)
                changes += answered
                gone = {c.alert_id for c in answered}
                unresolved = {k: a for k, a in unresolved.items() if a.id not in gone}
            writes = Writes()
            if groups:
                changes += self._apply_groups(conn, writes, groups, unresolved, now)
            writes.flush(conn, announce=[json.dumps(c.as_json()) for c in changes])
        return changes

    def _apply_groups(
        self,
        conn: Conn,
        writes: Writes,
        groups: dict[tuple[UUID, str], list[tuple[int, Finding]]],
        unresolved: dict[tuple[UUID, str], Alert],
        now: datetime,
    ) -> list[AlertChange]:
        """Each (patient, episode)'s findings in order: its alert (locked with all the batch's
        others) opened, reopened or updated in memory, to be written in one pipeline."""
        lacking = sorted((k for k in groups if k not in unresolved), key=_key_order)
        tenants = (
            repo.patient_tenants(conn, patient_ids=sorted({k[0] for k in lacking}, key=str))
            if lacking
            else {}
        )
        for key in [k for k in lacking if k[0] not in tenants]:
            # A patient with an unresolved alert exists: only these can be unknown.
            for _, finding in groups.pop(key):
                log.warning("finding for unknown patient %s dropped", finding.patient_id)
            lacking.remove(key)
        recent = (
            repo.lock_recently_resolved_many(
                conn, keys=lacking, since=now - self.policy.quiet_period
            )
            if lacking
            else {}
        )
        current: dict[tuple[UUID, str], Alert] = dict(unresolved)
        reopening: dict[tuple[UUID, str], Alert] = {}
        opening: list[tuple[UUID, str]] = []
        for key in lacking:
            resolved = recent.get(key)
            step = next_step(
                unresolved=False,
                resolved_at=resolved.resolved_at if resolved is not None else None,
                now=now,
                quiet_period=self.policy.quiet_period,
            )
            if step is Step.REOPEN and resolved is not None:
                reopening[key] = resolved
            else:
                opening.append(key)
        rows = [self._new_values(groups[k][0][1], k[0], tenants[k[0]]) for k in opening]
        opened: set[tuple[UUID, str]] = set()
        for key, alert in zip(opening, repo.insert_alerts(conn, rows=rows), strict=True):
            if alert is None:
                # Another transaction opened it between our look and our insert: update that.
                alert = repo.lock_unresolved(conn, patient_id=key[0], episode=key[1])
                assert alert is not None
            else:
                opened.add(key)
            current[key] = alert
        # In the batch's order (groups interleaved), so the trail and the outbox keep it.
        firsts = {items[0][0] for items in groups.values()}
        walk = sorted((i, key, f) for key, items in groups.items() for i, f in items)
        changes = []
        for i, key, finding in walk:
            if i in firsts and key in reopening:
                current[key], change = self._reopen(writes, reopening[key], finding, now)
            elif i in firsts and key in opened:
                change = self._opened(writes, current[key], finding, now)
            else:
                current[key], change = self._update(writes, current[key], finding, now)
            changes.append(change)
        return changes

    def _opened(self, writes: Writes, alert: Alert, finding: Finding, now: datetime) -> AlertChange:
        writes.event(
            alert_id=alert.id,
            kind=ChangeKind.OPENED,
            to_state=AlertState.OPEN,
            severity=alert.severity,
            details={"finding_time": finding.time.isoformat(), "age_s": finding.age_s},
        )
        writes.notify(self._notification(alert, ChangeKind.OPENED, level=0))
        return self._change(alert, ChangeKind.OPENED, now)

    def _new_values(self, finding: Finding, patient_id: UUID, tenant_id: UUID) -> dict[str, Any]:
        critical = finding.severity >= Severity.CRITICAL
        return {
            "tenant_id": tenant_id,
            "patient_id": patient_id,
            "episode": rule_for(finding.cause).key,
            "cause": finding.cause,
            "causes": [finding.cause],
            "worst_value": finding.explanation.value,
            "readings": dict.fromkeys(("opened", "latest", "worst"), reading_json(finding)),
            "metrics": list(finding.metrics),
            "detector": finding.detector,
            "severity": int(finding.severity),
            "score": finding.score,
            "first_seen": finding.time,
            "last_seen": finding.time,
            "last_value": finding.explanation.value,
            "explanation": explanation_json(finding),
            "data_age_s": finding.age_s,
            "escalate_at": now_utc() + self.policy.escalate_after if critical else None,
        }

    @staticmethod
    def _episode_values(alert: Alert, finding: Finding) -> dict[str, Any]:
        """The episode's share of an update: its causes, worst value and current cause."""
        values: dict[str, Any] = {}
        if finding.cause not in alert.causes:
            values["causes"] = sorted({*alert.causes, finding.cause})
        readings = dict(alert.readings)
        worst = readings.get("worst") or {}
        # The worst finding's own rank (the alert's score follows the latest finding).
        rank = (int(worst.get("severity", alert.severity)), float(worst.get("score", alert.score)))
        if worse(rule_for(alert.episode), alert.worst_value, rank, finding):
            values["worst_value"] = finding.explanation.value
            readings["worst"] = reading_json(finding)
        if finding.time >= alert.last_seen:
            readings["latest"] = reading_json(finding)
            if finding.cause != alert.cause:
                values["cause"] = finding.cause
        if readings != alert.readings:
            values["readings"] = readings
        return values

    def _update(
        self, writes: Writes, alert: Alert, finding: Finding, now: datetime
    ) -> tuple[Alert, AlertChange]:
        values: dict[str, Any] = {
            "finding_count": alert.finding_count + 1,
            "first_seen": min(alert.first_seen, finding.time),
            **self._episode_values(alert, finding),
        }
        if finding.time >= alert.last_seen:
            values.update(
                last_seen=finding.time,
                last_value=finding.explanation.value,
                score=finding.score,
                data_age_s=finding.age_s,
            )
        kind = ChangeKind.CAUSE_CHANGED if "cause" in values else ChangeKind.UPDATED
        if finding.severity > alert.severity:
            kind = ChangeKind.SEVERITY_RAISED
            values.update(severity=int(finding.severity), explanation=explanation_json(finding))
            if alert.state in (AlertState.ACKNOWLEDGED, AlertState.SNOOZED):
                values.update(state=AlertState.OPEN.value, snoozed_until=None)
            if finding.severity >= Severity.CRITICAL:
                values["escalate_at"] = now + self.policy.escalate_after
        updated = writes.update(alert, values)
        if kind is not ChangeKind.UPDATED:
            writes.event(
                alert_id=alert.id,
                kind=kind,
                from_state=alert.state,
                to_state=updated.state,
                severity=updated.severity,
                details={
                    "from_severity": alert.severity.name.lower(),
                    "from_cause": alert.cause,
                    "cause": updated.cause,
                },
            )
        if kind is ChangeKind.SEVERITY_RAISED:
            writes.notify(self._notification(updated, kind, level=updated.escalation_level))
        return updated, self._change(updated, kind, now)

    def _reopen(
        self, writes: Writes, alert: Alert, finding: Finding, now: datetime
    ) -> tuple[Alert, AlertChange]:
        severity = max(alert.severity, finding.severity)
        values: dict[str, Any] = {
            "state": AlertState.OPEN.value,
            "resolved_at": None,
            "resolved_by": None,
            "outcome": None,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "finding_count": alert.finding_count + 1,
            **self._episode_values(alert, finding),
            "cause": finding.cause,
            "last_seen": max(alert.last_seen, finding.time),
            "last_value": finding.explanation.value,
            "severity": int(severity),
            "explanation": explanation_json(finding),
            "data_age_s": finding.age_s,
            "escalate_at": (
                now + self.policy.escalate_after if severity >= Severity.CRITICAL else None
            ),
        }
        updated = writes.update(alert, values)
        writes.event(
            alert_id=alert.id,
            kind=ChangeKind.REOPENED,
            from_state=AlertState.RESOLVED,
            to_state=AlertState.OPEN,
            severity=updated.severity,
            note=f"finding within the quiet period of {self.policy.quiet_period} after resolution",
        )
        writes.notify(self._notification(updated, ChangeKind.REOPENED, level=0))
        return updated, self._change(updated, ChangeKind.REOPENED, now)

    def _answer_missing_data(
        self,
        conn: Conn,
        alerts: Sequence[Alert],
        by_patient: dict[UUID, list[StoredReading]],
        now: datetime,
    ) -> list[AlertChange]:
        """Resolve the (locked) missing-data alerts whose gap these readings fill."""
        changes = []
        for alert in alerts:
            window = alert.explanation.get("window_s") or 0.0
            gap_start = alert.first_seen - timedelta(seconds=float(window))
            device = (alert.explanation.get("details") or {}).get("device_id")
            answering = [
                r
                for r in by_patient.get(alert.patient_id, [])
                if (not alert.metrics or r.metric.value in alert.metrics)
                and (device is None or r.device_id == device)
                and r.time >= gap_start
            ]
            if not answering:
                continue
            oldest = min(r.time for r in answering)
            late = any((r.received_at - r.time).total_seconds() > 60 for r in answering)
            note = (
                f"answered by {len(answering)} late reading(s) from {oldest.isoformat()}"
                " (backlog upload)"
                if late
                else f"measurements resumed at {oldest.isoformat()}"
            )
            changes.append(self._resolve(conn, alert, None, Outcome.ANSWERED_BY_DATA, note, now))
        return changes

    # -- from people ------------------------------------------------------------------------

    def acknowledge(
        self, conn: Conn, *, alert_id: UUID, user_id: UUID | None, note: str | None = None
    ) -> AlertChange:
        now = now_utc()
        with conn.transaction():
            alert = self._lock_unresolved(conn, alert_id)
            values = {
                "state": AlertState.ACKNOWLEDGED.value,
                "acknowledged_at": now,
                "acknowledged_by": user_id,
                "snoozed_until": None,
                "escalate_at": None,
            }
            return self._transition(conn, alert, values, ChangeKind.ACKNOWLEDGED, user_id, note)

    def snooze(
        self,
        conn: Conn,
        *,
        alert_id: UUID,
        user_id: UUID | None,
        until: datetime,
        note: str | None = None,
    ) -> AlertChange:
        now = now_utc()
        if until <= now:
            raise Conflict("snooze needs a time in the future")
        with conn.transaction():
            alert = self._lock_unresolved(conn, alert_id)
            values = {"state": AlertState.SNOOZED.value, "snoozed_until": until}
            return self._transition(
                conn,
                alert,
                values,
                ChangeKind.SNOOZED,
                user_id,
                note,
                details={"until": until.isoformat()},
            )

    def resolve(
        self,
        conn: Conn,
        *,
        alert_id: UUID,
        user_id: UUID | None,
        outcome: Outcome,
        note: str | None = None,
    ) -> AlertChange:
        with conn.transaction():
            alert = self._lock_unresolved(conn, alert_id)
            change = self._resolve(conn, alert, user_id, outcome, note, now_utc())
            self._announce(conn, change)
            return change

    def comment(
        self, conn: Conn, *, alert_id: UUID, user_id: UUID | None, note: str
    ) -> AlertChange:
        with conn.transaction():
            alert = repo.lock_alert(conn, alert_id=alert_id)
            if alert is None:
                raise NotFound(f"no alert {alert_id}")
            repo.insert_event(
                conn, alert_id=alert.id, kind=ChangeKind.COMMENTED, actor_user_id=user_id, note=note
            )
            updated = repo.update_alert(conn, alert_id=alert.id, values={})
            change = self._change(updated, ChangeKind.COMMENTED, now_utc())
            self._announce(conn, change)
            return change

    def assign(
        self, conn: Conn, *, alert_id: UUID, user_id: UUID | None, assignee: UUID | None
    ) -> AlertChange:
        """Assign the alert to one of the staff (the caller checks the assignee), or nobody."""
        with conn.transaction():
            alert = repo.lock_alert(conn, alert_id=alert_id)
            if alert is None:
                raise NotFound(f"no alert {alert_id}")
            repo.insert_event(
                conn,
                alert_id=alert.id,
                kind=ChangeKind.ASSIGNED,
                actor_user_id=user_id,
                details={"assignee": str(assignee) if assignee else None},
            )
            updated = repo.update_alert(conn, alert_id=alert.id, values={"assigned_to": assignee})
            change = self._change(updated, ChangeKind.ASSIGNED, now_utc())
            self._announce(conn, change)
            return change

    # -- from the clock ---------------------------------------------------------------------

    def tick(self, conn: Conn, *, now: datetime | None = None) -> list[AlertChange]:
        """Escalate overdue critical alerts and wake snoozed ones whose time has come."""
        now = now or now_utc()
        changes = []
        with conn.transaction():
            for alert_id in repo.due_for_escalation(conn, now=now):
                alert = repo.lock_alert(conn, alert_id=alert_id)
                assert alert is not None
                changes.append(self._escalate(conn, alert, now))
            for alert_id in repo.due_to_wake(conn, now=now):
                alert = repo.lock_alert(conn, alert_id=alert_id)
                assert alert is not None
                values: dict[str, Any] = {"state": AlertState.OPEN.value, "snoozed_until": None}
                if alert.severity >= Severity.CRITICAL and alert.acknowledged_at is None:
                    values["escalate_at"] = now + self.policy.escalate_after
                updated = repo.update_alert(conn, alert_id=alert.id, values=values)
                repo.insert_event(
                    conn,
                    alert_id=alert.id,
                    kind=ChangeKind.UNSNOOZED,
                    from_state=AlertState.SNOOZED,
                    to_state=AlertState.OPEN,
                )
                self._notify(conn, updated, ChangeKind.UNSNOOZED, level=0)
                changes.append(self._change(updated, ChangeKind.UNSNOOZED, now))
            changes += self._end_episodes(conn, now)
            for change in changes:
                self._announce(conn, change)
        return changes

    def _end_episodes(self, conn: Conn, now: datetime) -> list[AlertChange]:
        """Resolve seen alerts whose episode has ended (an unseen one stays for the team)."""
        changes = []
        hold = self.policy.seen_critical_hold
        held = now - hold if hold > timedelta(0) else None
        quiet = repo.seen_quiet_since(conn, before=now - shortest_end(), critical_seen_before=held)
        for alert in quiet:
            rule = rule_for(alert.episode)
            if not has_ended(rule, alert.causes, alert.last_seen, now):
                continue
            note = (
                f"resolved automatically: no finding for {ends_after(rule, alert.causes)},"
                " the episode has ended"
            )
            changes.append(self._resolve(conn, alert, None, Outcome.EPISODE_ENDED, note, now))
        return changes

    def _escalate(self, conn: Conn, alert: Alert, now: datetime) -> AlertChange:
        level = alert.escalation_level + 1
        more = level < self.policy.max_escalation_level
        updated = repo.update_alert(
            conn,
            alert_id=alert.id,
            values={
                "escalation_level": level,
                "escalate_at": now + self.policy.escalate_after if more else None,
            },
        )
        repo.insert_event(
            conn,
            alert_id=alert.id,
            kind=ChangeKind.ESCALATED,
            from_state=alert.state,
            to_state=alert.state,
            severity=alert.severity,
            note=f"not acknowledged within {self.policy.escalate_after}: level {level}",
            details={"level": level},
        )
        self._notify(conn, updated, ChangeKind.ESCALATED, level=level)
        return self._change(updated, ChangeKind.ESCALATED, now)

    # -- shared -----------------------------------------------------------------------------
