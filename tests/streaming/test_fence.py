"""The database fences what a detect worker commits: progress moves only from the value the
worker read, so a worker that still believes it holds a partition (JetStream moved it while
the worker stalled) commits nothing, its findings and alert changes included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from vigil.alerts import AlertService
from vigil.clinical.findings import Explanation, Finding, Severity
from vigil.storage import admin
from vigil.streaming import repo

pytestmark = pytest.mark.integration

STREAM = "FENCE_READINGS"


def low_spo2(patient: uuid.UUID) -> Finding:
    return Finding(
        patient, "spo2_low", ("spo2",), datetime.now(UTC), "rule.spo2", Severity.HIGH, 1.0,
        Explanation("SpO2 84 % is below 90 %", value=84.0, threshold=90.0),
    )  # fmt: skip


def commit(conn: psycopg.Connection[Any], patient: uuid.UUID, *, seq: int, read: int) -> None:
    """What a worker commits for partition 0 after reading its progress as ``read``."""
    now = datetime.now(UTC)
    with conn.transaction():
        AlertService().apply(conn, [low_spo2(patient)])
        repo.record_progress(conn, stream=STREAM, applied={0: (seq, now)}, expected={0: read})


def findings(conn: psycopg.Connection[Any], patient: uuid.UUID) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(finding_count), 0) FROM alerts WHERE patient_id = %s", (patient,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_stale_worker_commits_nothing(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        tenant = admin.create_tenant(conn, name="fence")
        patient = admin.create_patient(conn, tenant_id=tenant, display_name="P", conditions=[])
        commit(conn, patient, seq=10, read=0)  # worker A: first progress of the partition
        # Worker B took the partition and read 10; A, stalled, still believes it holds it.
        commit(conn, patient, seq=20, read=10)
        with pytest.raises(repo.ProgressMoved) as stale:
            commit(conn, patient, seq=15, read=10)  # A's commit, from what it read before
        assert stale.value.partitions == [0]
        with pytest.raises(repo.ProgressMoved):
            commit(conn, patient, seq=11, read=0)  # a second "first" worker
        assert findings(conn, patient) == 2  # A's and B's first; the two refused rolled back
        assert repo.load_progress(conn, stream=STREAM, partitions=[0])[0][0] == 20
        # The clock's findings carry no progress: fenced by a check of it under a row lock.
        with pytest.raises(repo.ProgressMoved), conn.transaction():
            repo.check_progress(conn, stream=STREAM, expected={0: 10})
        with conn.transaction():
            repo.check_progress(conn, stream=STREAM, expected={0: 20})
            repo.check_progress(conn, stream=STREAM, expected={})


class CountingCursor(psycopg.Cursor[Any]):
    statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        CountingCursor.statements += 1
        return super().execute(*args, **kwargs)


def test_progress_of_many_partitions_in_one_statement(db_url: str) -> None:
    """A batch spread over every partition records its progress in one round trip, and the
    fence still refuses the whole batch when any one partition moved, naming only that one."""
    stream = f"FENCE_MANY_{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    with psycopg.connect(db_url, cursor_factory=CountingCursor) as conn:
        CountingCursor.statements = 0
        with conn.transaction():
            first = {p: (10 + p, now) for p in range(16)}
            repo.record_progress(conn, stream=stream, applied=first, expected={})
        assert CountingCursor.statements == 1
        read = {p: 10 + p for p in range(16)}
        with conn.transaction():  # another worker moves partition 7 only
            repo.record_progress(conn, stream=stream, applied={7: (99, now)}, expected={7: 17})
        CountingCursor.statements = 0
        applied = {p: (50 + p, now) for p in range(16)}
        with pytest.raises(repo.ProgressMoved) as stale, conn.transaction():
            repo.record_progress(conn, stream=stream, applied=applied, expected=read)
        assert CountingCursor.statements == 1
        assert stale.value.partitions == [7]
        progress = repo.load_progress(conn, stream=stream, partitions=list(range(16)))
        assert {p: s for p, (s, _) in progress.items()} == {**read, 7: 99}  # all rolled back
        with conn.transaction():  # a mix of first progress and moves, from what was read
            applied = {p: (200 + p, now) for p in (3, 7, 16, 17)}
            repo.record_progress(conn, stream=stream, applied=applied, expected={3: 13, 7: 99})
        progress = repo.load_progress(conn, stream=stream, partitions=[3, 7, 16, 17])
        assert {p: s for p, (s, _) in progress.items()} == {3: 203, 7: 207, 16: 216, 17: 217}
