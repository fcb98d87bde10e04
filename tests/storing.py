"""Readings stored as ingest stores a batch that its direct COPY refused: the stage path
(:func:`~vigil.ingest.repo.store_readings`), then the latest values, the notification and the
commit (:func:`~vigil.ingest.repo.commit_batch`), for tests that put readings in place without
a device."""

from __future__ import annotations

from collections.abc import Sequence

from vigil.core.models import StoredReading
from vigil.ingest.repo import Conn, commit_batch, reading_key, store_readings


def store_as_ingest(conn: Conn, rows: Sequence[StoredReading]) -> list[StoredReading]:
    """Store ``rows`` and commit; returns the readings newly stored. A reading already stored
    with the same value and mark goes on to the latest values as ingest's would."""
    outcome = store_readings(conn, rows=rows)
    held = {k: (v, c) for k, (v, c, _) in outcome.existing.items()}
    agreeing = [
        r for r in rows if held.get(reading_key(r), (r.value, r.censored)) == (r.value, r.censored)
    ]
    commit_batch(conn, agreeing=agreeing, new_for={r.patient_id for r in outcome.inserted})
    return outcome.inserted
