"""The engine a detect worker runs: care plans from the database.

Its state is rebuilt on a restart by replay without findings: by the detect worker from the
readings stream (``restore_days=0`` here), or here from stored history for callers without a
stream (the last ``restore_days``). Either way baselines survive and old alarms do not re-fire.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg

from vigil.clinical.careplan import CarePlan
from vigil.clinical.findings import Finding
from vigil.core.models import StoredReading
from vigil.storage import LoopConnection
from vigil.streaming import repo
from vigil.streaming.engine import StreamEngine

log = logging.getLogger(__name__)


class LiveEngine:
    """A :class:`StreamEngine` fed by the database: plans loaded on first sight of a patient
    and refreshed when a clinician changes them."""

    def __init__(self, database_url: str, *, restore_days: float = 14) -> None:
        """``restore_days`` of stored history rebuild the detectors' state; 0 leaves that to
        the caller (a detect worker replays its partitions of the stream instead)."""
        self.database_url = database_url
        self._db = LoopConnection(database_url, purpose="care plans", autocommit=True)
        self._preloaded: dict[UUID, CarePlan] = {}
        self.engine = StreamEngine(plan_for=self._plan_for)
        self._plans_checked = datetime.now(UTC)
        since = datetime.now(UTC) - timedelta(days=restore_days)
        with psycopg.connect(database_url) as conn:
            # Every plan in one query, not one query per patient; plans changed from here on
            # are caught by the refresh (checked from before this load).
            self._preloaded = repo.load_care_plans(conn)
            if restore_days > 0:
                restored = self.engine.restore(repo.history(conn, since=since))
                self._preloaded.clear()
                log.info("detector state rebuilt from %d stored readings", restored)

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        return self._db.get()

    def _plan_for(self, patient_id: UUID) -> CarePlan:
        """The patient's plan. A database that cannot be reached raises: scoring a patient
        against default thresholds instead of their own plan would change what is alerted
        (the detect worker rebuilds its state and tries again)."""
        preloaded = self._preloaded.pop(patient_id, None)
        if preloaded is not None:
            return preloaded
        try:
            return repo.load_care_plan(self._connection(), patient_id=patient_id)
        except psycopg.OperationalError:
            self.close()
            raise

    def close(self) -> None:
        self._db.drop()

    def process(self, readings: Sequence[StoredReading]) -> list[Finding]:
        return self.engine.process(readings)

    def restore(self, readings: Sequence[StoredReading]) -> int:
        """Replay readings already scored before (a detect worker's restart) without findings."""
        return self.engine.restore(readings)

    def tick(self, now: datetime) -> list[Finding]:
        self._refresh_plans()
        return self.engine.tick(now)

    def _refresh_plans(self) -> None:
        checked = datetime.now(UTC)
        changed = repo.care_plans_changed_since(self._connection(), since=self._plans_checked)
        for patient_id, plan in changed:
            self.engine.set_care_plan(patient_id, plan)
        self._plans_checked = checked
