"""Uploads: Nightscout documents stored through ingest's path, then answered.

The readings an upload carries go through ingest's own storage path
(:meth:`vigil.ingest.IngestService.process`: the payload contract, the same ``readings`` and
``rejected_messages`` tables, idempotent writes, conflicts kept with their reason), then to the
readings stream through the same hand-off ingest uses (the sink ``vigil serve`` gives ingest),
so detection and alerts follow as for MQTT. Only then are the documents committed and the
upload answered 2xx. If the database or the stream is away the answer is a 503 and nothing is
promised; the uploader sends again, the readings already stored are found stored and handed on
again (the stream drops what it already has), exactly as a redelivered MQTT message is.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from vigil.api.errors import ApiError
from vigil.api.nightscout import repo
from vigil.api.nightscout.translate import Collection, Translated, translate
from vigil.core.errors import RejectionKind
from vigil.core.payload import topic_for
from vigil.ingest import FairInbox, InboundMessage, IngestService, ReadingSink, RejectedRow
from vigil.ingest import store_rejections as store_rejected_rows
from vigil.settings import Settings

log = logging.getLogger(__name__)


class StorageUnavailable(ApiError):
    status = 503
    code = "storage_unavailable"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is unavailable: nothing of this upload is promised; send it again",
            headers={"Retry-After": "5"},
        )


@dataclass(slots=True)
class UploadOutcome:
    stored: dict[int, repo.Stored] = field(default_factory=dict)
    rejected: dict[int, tuple[str, str]] = field(default_factory=dict)
    """By upload index: the rejection's kind and reason."""
    readings_stored: int = 0


class NightscoutIngest:
    """Ingest's storage path for one API process (its own database connection, one upload
    at a time) and the stream hand-off."""

    def __init__(self, settings: Settings, database_url: str, sink: ReadingSink | None) -> None:
        # The API throttles uploaders itself; ingest's per-device message rate (meant for
        # MQTT floods) would keep a backlog upload's batches as rejected.
        quiet = settings.model_copy(update={"ingest_device_rate_per_s": 0.0})
        self.service = IngestService(
            settings=quiet,
            database_url=database_url,
            inbox=FairInbox(max_messages=1, max_bytes=1),
            ack=lambda _message: None,
            sink=None,
        )
        self.sink = sink
        self._lock = threading.Lock()

    def close(self) -> None:
        self.service.close()

    def store_readings(
        self, *, device_id: str, readings: list[dict[str, Any]], received_at: datetime
    ) -> tuple[int, list[RejectedRow], set[tuple[str, datetime]]]:
        """Store and hand on; returns how many readings are stored (new), the rows kept as
        rejected, and the (metric, time) of every reading storage holds with this value."""
        if not readings:
            return 0, [], set()
        message = InboundMessage(
            topic_for(device_id),
            json.dumps({"readings": readings}).encode(),
            0,
            1,
            False,
            received_at,
            0,
        )
        rejected: list[RejectedRow] = []
        with self._lock:
            before = self.service.stats.readings_stored
            try:
                stored = self.service.process([message], rejected_out=rejected)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.service.close()
                log.warning("nightscout upload of device %s not stored: %s", device_id, exc)
                raise StorageUnavailable("the database") from exc
            new = self.service.stats.readings_stored - before
        if stored and self.sink is not None:
            try:
                self.sink(stored)
            except Exception as exc:
                log.warning("nightscout upload of device %s not handed on: %s", device_id, exc)
                raise StorageUnavailable("the readings stream") from exc
        held = {(r.metric.value, r.time) for m in stored for r in m.readings}
        return new, rejected, held


def upload(
    conn: psycopg.Connection[Any],
    ingest: NightscoutIngest,
    *,
    device_id: str,
    patient_id: Any,
    collection: Collection,
    docs: Sequence[Any],
    path: str,
    replace: bool,
) -> UploadOutcome:
    """Translate, store the readings (ingest), keep rejections, store the documents (in
    ``conn``'s transaction, which the caller commits before answering)."""
    received_at = datetime.now(UTC)
    t: Translated = translate(collection, list(docs))
    new, rejected_rows, held = ingest.store_readings(
        device_id=device_id, readings=t.readings, received_at=received_at
    )
    outcome = UploadOutcome(readings_stored=new)
    whole: str | None = None
    for row in rejected_rows:
        if row.item is None:
            whole = whole or f"{row.kind.value}: {row.reason}"
            continue
        index = t.sources[row.item]
        outcome.rejected.setdefault(index, (row.kind.value, row.reason))
    for i, reading in enumerate(t.readings):
        index = t.sources[i]
        if index in outcome.rejected:
            continue
        ts = datetime.fromisoformat(reading["ts"])
        if (reading["metric"], ts) not in held:
            kind, _, reason = (whole or "other: not stored").partition(": ")
            outcome.rejected[index] = (kind, reason)
    ns_rows = [
        RejectedRow(
            received_at,
            path,
            device_id,
            json.dumps(docs[index], default=str).encode()[:100_000],
            index,
            kind,
            f"nightscout {collection}: {reason}",
        )
        for index, (kind, reason) in sorted(t.rejections.items())
    ]
    store_rejected_rows(conn, rows=ns_rows)
    outcome.rejected.update({i: (k.value, r) for i, (k, r) in t.rejections.items()})
    accepted = [d for d in t.documents if d.index not in outcome.rejected]
    if accepted:
        if patient_id is None:
            for d in accepted:
                outcome.rejected[d.index] = (
                    RejectionKind.UNASSIGNED.value,
                    f"device {device_id!r} is not assigned to a patient",
                )
        else:
            outcome.stored = repo.store_documents(
                conn,
                patient_id=patient_id,
                device_id=device_id,
                collection=collection,
                documents=accepted,
                replace=replace,
            )
    return outcome
