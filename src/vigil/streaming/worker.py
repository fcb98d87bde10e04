"""A detect worker: readings from its partitions of the stream become findings, applied once.

For each batch fetched from the stream (in stream order):

- a message at or below what this process has already fed its detectors is a redelivery:
  acknowledged, nothing else;
- a message at or below the partition's applied progress (from the database) was applied
  before a restart: it is replayed into the detectors silently (no findings), which rebuilds
  exactly the state they had;
- every other message is scored, message by message (a message is one device's measurement,
  so the result does not depend on how the stream batches them).

The batch's findings, the alert changes they make and the partitions' new progress are written
in one transaction; only then are the messages acknowledged. A failure to apply is retried with
back-off (the messages are kept from redelivery meanwhile), never dropped. A crash anywhere
loses nothing (unapplied messages are redelivered) and doubles nothing (applied ones are
recognised by their sequence).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg

from vigil.clinical.findings import Finding
from vigil.core import faults
from vigil.core.models import StoredReading
from vigil.core.worker import Backoff, Worker
from vigil.storage import LoopConnection
from vigil.stream import NatsConnection, PartitionConsumer, StreamMessage
from vigil.streaming import repo

log = logging.getLogger(__name__)


class Engine(Protocol):
    def process(self, readings: Sequence[StoredReading]) -> list[Finding]: ...

    def restore(self, readings: Sequence[StoredReading]) -> int: ...

    def tick(self, now: datetime) -> list[Finding]: ...


class FindingsSink(Protocol):
    """Where findings go (the alerts stage): applied inside the caller's transaction."""

    def apply(
        self,
        conn: psycopg.Connection[Any],
        findings: Sequence[Finding],
        *,
        readings: Sequence[StoredReading] = (),
    ) -> object: ...


class DetectWorker(Worker):
    def __init__(
        self,
        *,
        nats: NatsConnection,
        database_url: str,
        engine: Callable[[], Engine],
        sink: FindingsSink,
        partitions: Sequence[int],
        name: str,
        restore_days: float = 14.0,
        tick_interval_s: float = 60.0,
        fetch_max: int = 500,
        retry_max_s: float = 5.0,
    ) -> None:
        super().__init__(name, backoff=Backoff(max_s=retry_max_s))
        self.database_url = database_url
        self.make_engine = engine
        self.engine = engine()
        self.sink = sink
        self.partitions = sorted(partitions)
        self.restore_days = restore_days
        self.tick_interval_s = tick_interval_s
        self.fetch_max = fetch_max
        self.consumer = PartitionConsumer(nats, name=name, partitions=self.partitions)
        self.stream = nats.layout.stream
        self.applied: dict[int, tuple[int, datetime]] = {}
        """Per partition: the last stream sequence whose findings are committed."""
        self.learned: dict[int, int] = {}
        """Per partition: the last stream sequence fed to the detectors by this process."""
        self.restored = False
        self._dirty = False
        """The detectors took part of a batch that is not applied yet: if that fails, they are
        rebuilt (replayed from the stream) rather than trusted."""
        self.scored = 0
        self.replayed = 0
        self.findings = 0
        self.apply_retries = 0
        self._db = LoopConnection(database_url, purpose=self.name)

    # -- life --------------------------------------------------------------------------------

    def step(self) -> None:
        """Open (replaying what is needed) and consume until stopped; after a failure the
        worker's loop drops the connection, waits and opens again."""
        if self._dirty:
            self._rebuild()
        self._open()
        self._consume()

    def after_error(self) -> None:
        self._drop_connection()

    def close(self) -> None:
        self._db.drop()
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()

    def _rebuild(self) -> None:
        """Forget the detectors' state: the next open replays exactly what was applied."""
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()
        self.learned.clear()
        self.restored = False
        self.engine = self.make_engine()
        self._dirty = False

    def _open(self) -> None:
        conn = self._connection()
        with conn.transaction():
            self.applied = repo.load_progress(conn, stream=self.stream, partitions=self.partitions)
        since: datetime | None = None
        if all(p in self.applied for p in self.partitions):
            oldest_applied = min(t for _, t in self.applied.values())
            window = datetime.now(UTC) - timedelta(days=self.restore_days)
            since = min(window, oldest_applied) - timedelta(minutes=1)
        self.consumer.open(since=since)
        log.info(
            "detect worker %s: partitions %s, replaying from %s",
            self.name,
            self.partitions,
            since.isoformat() if since else "the stream's start",
        )

    # -- the loop ----------------------------------------------------------------------------

    def _consume(self) -> None:
        next_tick = time.monotonic() + self.tick_interval_s
        while not self.stopping:
            batch = self.consumer.fetch(max_messages=self.fetch_max, timeout_s=1.0)
            if batch:
                self._handle(batch)
            elif not self.restored and self.consumer.pending() == 0:
                self._restored()
            if self.restored and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.tick_interval_s
                found = self.engine.tick(datetime.now(UTC))
                if found:
                    self._apply(found, (), {}, ())

    def _handle(self, batch: list[StreamMessage]) -> None:
        live: list[StreamMessage] = []
        self._dirty = True
        for m in batch:
            if m.seq <= self.learned.get(m.partition, 0):
                continue  # a redelivery of what this process has already handled
            applied_seq = self.applied.get(m.partition, (0, m.published_at))[0]
            if m.seq <= applied_seq:
                self.engine.restore(m.readings)
                self.replayed += len(m.readings)
            else:
                live.append(m)
            self.learned[m.partition] = m.seq
        if live:
            findings: list[Finding] = []
            readings: list[StoredReading] = []
            for m in live:
                findings += self.engine.process(m.readings)
                readings += m.readings
            progress = {m.partition: (m.seq, m.published_at) for m in live}
            faults.reached("detect_after_findings")
            self._apply(findings, readings, progress, batch)
            self.scored += len(readings)
            faults.reached("detect_after_commit")
        self._dirty = False
        self.consumer.ack(batch)
        if not self.restored and all(
            self.learned.get(p, 0) >= seq for p, (seq, _) in self.applied.items()
        ):
            self._restored()

    def _restored(self) -> None:
        self.restored = True
        log.info(
            "detect worker %s: detector state rebuilt from %d replayed readings",
            self.name,
            self.replayed,
        )

    def _apply(
        self,
        findings: list[Finding],
        readings: Sequence[StoredReading],
        progress: dict[int, tuple[int, datetime]],
        messages: Sequence[StreamMessage],
    ) -> None:
        """Findings, their alert changes and the progress, in one transaction; retried until
        it commits (or the worker is stopped: then nothing is acknowledged)."""

        def commit() -> None:
            conn = self._connection()
            with conn.transaction():
                self.sink.apply(conn, findings, readings=readings)
                repo.record_progress(conn, stream=self.stream, applied=progress)

        def failed(_exc: BaseException) -> None:
            self.apply_retries += 1
            self._drop_connection()
            if messages:
                self.consumer.in_progress(messages)  # still ours while we retry

        self.retry(f"applying {len(findings)} findings failed", commit, on_error=failed)
        self.applied.update(progress)
        self.findings += len(findings)

    # -- database ----------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        return self._db.get()

    def _drop_connection(self) -> None:
        self._db.drop()
