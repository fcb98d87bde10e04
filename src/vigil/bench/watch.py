"""When each finding became a visible alert change, per patient, seen through LISTEN/NOTIFY.

The alerts stage NOTIFYs every alert change on :data:`vigil.alerts.lifecycle.CHANNEL` at commit.
PostgreSQL delivers identical payloads of one transaction once, and a batch that updates one
patient's alert twice sends two identical payloads (same alert, kind, time, sentence): counting
notifications would under-count. So a notification only says *which* alert changed; its
``finding_count`` (read right after, on a second connection) says how many findings it holds
now. The findings newly counted are stamped with the time that read returned: never earlier
than their commit, later by one primary-key lookup at most. They are also stamped with the
alert row's ``updated_at`` as read then: ``now()`` of the transaction that wrote it, that is
when the alerts stage began applying them (after detection scored them); a finding counted in
a read that follows two commits gets the later one's, so that stamp is never too early.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Collection
from datetime import datetime
from uuid import UUID

import psycopg

from vigil.alerts.lifecycle import CHANNEL

log = logging.getLogger(__name__)


class AlertWatch:
    def __init__(
        self, database_url: str, patients: Collection[UUID], *, cause: str = "spo2_low"
    ) -> None:
        self.database_url = database_url
        self.patients = frozenset(patients)
        self.cause = cause
        self.seen: dict[UUID, list[float]] = {p: [] for p in self.patients}
        """Per patient: ``seen[p][k - 1]`` is when its k-th finding of ``cause`` was visible."""
        self.applying: dict[UUID, list[float]] = {p: [] for p in self.patients}
        """Per patient: ``applying[p][k - 1]`` is when the transaction that wrote its k-th
        finding began (the alert's ``updated_at``)."""
        self.notifications = 0
        self.errors = 0
        self._total = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-bench-watch", daemon=True)

    @property
    def total(self) -> int:
        return self._total

    def start(self) -> AlertWatch:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the alert watch could not LISTEN")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_total(self, n: int, timeout_s: float) -> bool:
        """Wait until ``n`` findings have been seen in all (False after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._total < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._changed.wait(min(remaining, 0.5))
        return True

    def _run(self) -> None:
        try:
            self._listen()
        except Exception:
            self.errors += 1
            log.exception("the alert watch failed; the bench will time out waiting")
        finally:
            with self._changed:
                self._changed.notify_all()

    def _listen(self) -> None:
        with (
            psycopg.connect(self.database_url, autocommit=True) as listen,
            psycopg.connect(self.database_url, autocommit=True) as read,
        ):
            listen.execute(f"LISTEN {CHANNEL}")
            self._read_counts(read, None)  # what the patients' alerts already hold
            self._ready.set()
            while not self._stop.is_set():
                notes = list(listen.notifies(timeout=0.2, stop_after=1))
                if not notes:
                    continue
                notes += listen.notifies(timeout=0)  # the rest of the burst, without waiting
                self.notifications += len(notes)
                alerts = set()
                for note in notes:
                    change = json.loads(note.payload)
                    ours = UUID(change["patient_id"]) in self.patients
                    if ours and change.get("cause") == self.cause:
                        alerts.add(UUID(change["alert_id"]))
                if alerts:
                    self._read_counts(read, alerts)

    def _read_counts(
        self, conn: psycopg.Connection[tuple[object, ...]], alerts: set[UUID] | None
    ) -> None:
        if alerts is None:
            rows = conn.execute(
                "SELECT patient_id, finding_count, updated_at FROM alerts"
                " WHERE patient_id = ANY(%s) AND cause = %s",
                (list(self.patients), self.cause),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT patient_id, finding_count, updated_at FROM alerts WHERE id = ANY(%s)",
                (list(alerts),),
            ).fetchall()
        now = time.time()
        with self._changed:
            for patient, count, updated in rows:
                assert isinstance(patient, UUID)
                assert isinstance(count, int)
                assert isinstance(updated, datetime)
                seen = self.seen[patient]
                # One alert per patient and cause here (nothing resolves it): counts only grow.
                new = max(0, count - len(seen))
                seen.extend([now] * new)
                self.applying[patient].extend([updated.timestamp()] * new)
            self._total = sum(len(s) for s in self.seen.values())
            self._changed.notify_all()
