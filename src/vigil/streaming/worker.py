"""A detect worker: readings from the partitions it holds become findings, applied once.

Which partitions a worker holds is JetStream's choice (:class:`vigil.stream.PinnedPartitions`:
every worker pulls every partition, the server pins each partition to one of them and moves it
when that one stops pulling). A worker handed a partition catches up on it from the stream
itself: what its progress in the database says was applied is replayed silently, the rest is
scored. A worker that loses a partition (another holds its pin, or the database fence refused
its commit) stops applying it at once, says so (a warning, ``vigil_detect_partitions_lost_total``)
and forgets the detector state of every partition, then catches up again on those it still
holds (so no state of a patient it no longer owns lingers, and its missing-data clock covers
only its own patients).

For each batch (in stream order within each partition):

- a message at or below what this process has already fed its detectors is a redelivery:
  acknowledged, nothing else;
- a message at or below the partition's applied progress (from the database) was applied
  before a restart: it is replayed into the detectors silently (no findings), which rebuilds
  exactly the state they had;
- every other message is scored, message by message (a message is one device's measurement,
  so the result does not depend on how the stream batches them).

The batch's findings, the alert changes they make and the partitions' new progress are written
in one transaction, fenced: the progress moves only from the value this worker read (a
compare-and-set per partition, its row count checked), else the whole transaction rolls back
and the partition is treated as lost. Only then are the messages acknowledged. A failure to
apply is retried with back-off (the messages are kept from redelivery meanwhile), never
dropped. A crash anywhere loses nothing (unapplied messages are redelivered, or read from the
stream by the partition's next owner) and doubles nothing (applied ones are recognised by their
sequence).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg

from vigil.clinical.findings import Finding
from vigil.core import faults
from vigil.core.models import StoredReading
from vigil.core.worker import Backoff, Worker
from vigil.storage import LoopConnection
from vigil.stream import NatsConnection, PartitionState, PinnedPartitions, StreamMessage
from vigil.streaming import metrics, repo

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
        name: str,
        restore_days: float = 14.0,
        tick_interval_s: float = 60.0,
        fetch_max: int = 500,
        retry_max_s: float = 5.0,
        pin_timeout_s: float = 10.0,
        watch_interval_s: float = 15.0,
    ) -> None:
        super().__init__(name, backoff=Backoff(max_s=retry_max_s))
        self.database_url = database_url
        self.make_engine = engine
        self.engine = engine()
        self.sink = sink
        self.restore_days = restore_days
        self.tick_interval_s = tick_interval_s
        self.watch_interval_s = watch_interval_s
        self.fetch_max = fetch_max
        self.pinned = PinnedPartitions(nats, pin_timeout_s=pin_timeout_s)
        self.stream = nats.layout.stream
        self.owned: set[int] = set()
        """Partitions held, whose detector state is built: the only ones applied."""
        self.applied: dict[int, tuple[int, datetime]] = {}
        """Per owned partition: the last stream sequence whose findings are committed (what
        the fence expects to find in the database)."""
        self.learned: dict[int, int] = {}
        """Per owned partition: the last stream sequence fed to the detectors by this process."""
        self._pulling = False
        self._watching: Future[list[PartitionState]] | None = None
        self._dirty = False
        """The detectors took part of a batch that is not applied yet: if that fails, they are
        rebuilt (replayed from the stream) rather than trusted."""
        self.scored = 0
        self.replayed = 0
        self.findings = 0
        self.apply_retries = 0
        self.gained_total = 0
        self.lost_total = 0
        self.fenced = 0
        self._db = LoopConnection(database_url, purpose=self.name)
        metrics.PARTITIONS_OWNED.labels(self.name).set(0)

    @property
    def partitions(self) -> list[int]:
        return sorted(self.owned)

    # -- life --------------------------------------------------------------------------------

    def step(self) -> None:
        """Pull every partition and apply those held, until stopped; after a failure the
        worker's loop drops the connection, waits, rebuilds its state and goes on."""
        if not self._pulling:
            self.pinned.ensure()
            self.pinned.start()
            self._pulling = True
        if self._dirty:
            self._rebuild()
        self._consume()

    def after_error(self) -> None:
        self._drop_connection()

    def close(self) -> None:
        if self._pulling:
            self.pinned.stop()  # hand the partitions to the others at once
            self._pulling = False
        metrics.PARTITIONS_OWNED.labels(self.name).set(0)
        self._db.drop()
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()

    def _rebuild(self) -> None:
        """Forget the detectors' state and catch up again on every partition still held."""
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()
        self.engine = self.make_engine()
        keep = self.owned & self.pinned.owned
        self.owned.clear()
        self.applied.clear()
        self.learned.clear()
        self._dirty = False
        if keep:
            self._gain(keep)

    # -- ownership ---------------------------------------------------------------------------

    def _gain(self, partitions: set[int]) -> None:
        """Catch up on newly held partitions from the stream: applied messages replayed
        silently, the rest scored and applied; then they are this worker's."""
        conn = self._connection()
        with conn.transaction():
            progress = repo.load_progress(conn, stream=self.stream, partitions=sorted(partitions))
        since: datetime | None = None
        if all(p in progress for p in partitions):
            oldest_applied = min(t for _, t in progress.values())
            window = datetime.now(UTC) - timedelta(days=self.restore_days)
            since = min(window, oldest_applied) - timedelta(minutes=1)
        log.info(
            "detect worker %s: taking partitions %s: catching up from the stream",
            self.name,
            sorted(partitions),
        )
        self.applied.update(progress)
        self.owned |= partitions
        self.gained_total += len(partitions)
        replayed = self.replayed
        try:
            for batch in self.pinned.replay(sorted(partitions), since=since, batch=self.fetch_max):
                self._handle([m for m in batch if m.partition in self.owned], ack=False)
        except BaseException:
            # The catch-up stopped half-way (the stream unavailable: a NATS node gone): the
            # detectors lack these patients' history, and scoring on without it misses
            # findings. Rebuild on the next pass and take the partitions again from the start.
            self._dirty = True
            raise
        log.info(
            "detect worker %s: took partitions %s (now %s): replayed %d readings from %s",
            self.name,
            sorted(partitions),
            self.partitions,
            self.replayed - replayed,
            since.isoformat() if since else "the stream's start",
        )
        metrics.PARTITIONS_OWNED.labels(self.name).set(len(self.owned))

    def _lose(self, partitions: set[int], why: str) -> None:
        lost = partitions & self.owned
        if not lost:
            return
        self.lost_total += len(lost)
        metrics.PARTITIONS_LOST.labels(self.name).inc(len(lost))
        log.warning(
            "detect worker %s: lost partitions %s (%s): stopped applying them",
            self.name,
            sorted(lost),
            why,
        )
        self.owned -= lost
        self._rebuild()
        metrics.PARTITIONS_OWNED.labels(self.name).set(len(self.owned))

    # -- the loop ----------------------------------------------------------------------------

    def _consume(self) -> None:
        next_tick = time.monotonic() + self.tick_interval_s
        next_watch = time.monotonic()
        while not self.stopping:
            pulled = self.pinned.take(max_messages=self.fetch_max, timeout_s=1.0)
            if pulled.lost:
                self._lose(pulled.lost, "another worker holds them, or the server pinned them anew")
            # Every partition the pinned client holds and this worker does not apply yet: the
            # ones just handed over, and any whose catch-up failed before (a database outage
            # mid-gain), which no new "gained" would name again.
            held = (pulled.gained | self.pinned.owned) - self.owned
            if held:
                self._gain(held)
            mine = [m for m in pulled.messages if m.partition in self.owned]
            if mine:
                self._handle(mine, ack=True)
            if self.owned and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.tick_interval_s
                found = self.engine.tick(datetime.now(UTC))
                if found:
                    self._apply(found, (), {}, ())
            if time.monotonic() >= next_watch:
                next_watch = time.monotonic() + self.watch_interval_s
                self._watch()

    def _watch(self) -> None:
        """Lag per partition and partitions nobody holds, for the operator: asked of the
        server without waiting (the loop goes on taking messages), recorded when answered."""
        if self._watching is not None and not self._watching.done():
            return  # the previous question is still out (a slow server): no second one
        self._watching = self.pinned.states_started()
        self._watching.add_done_callback(_record_states)

    def _handle(self, batch: list[StreamMessage], *, ack: bool) -> None:
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
            moved = self._apply(findings, readings, progress, batch if ack else ())
            if moved:
                self._dirty = False
                self.fenced += 1
                metrics.FENCED.labels(self.name).inc()
                self._lose(set(moved), "the database fence: another worker applied them")
                return
            self.scored += len(readings)
            faults.reached("detect_after_commit")
        self._dirty = False
        if ack:
            self.pinned.ack(batch)

    def _apply(
        self,
        findings: list[Finding],
        readings: Sequence[StoredReading],
        progress: dict[int, tuple[int, datetime]],
        messages: Sequence[StreamMessage],
    ) -> list[int]:
        """Findings, their alert changes and the progress, in one fenced transaction; retried
        until it commits (or the worker is stopped: then nothing is acknowledged). Returns the
        partitions whose progress another worker moved ([] when committed)."""
        expected = {p: seq for p, (seq, _) in self.applied.items() if p in self.owned}

        def commit() -> list[int]:
            conn = self._connection()
            try:
                with conn.transaction():
                    self.sink.apply(conn, findings, readings=readings)
                    if progress:
                        repo.record_progress(
                            conn, stream=self.stream, applied=progress, expected=expected
                        )
                    else:  # the clock's findings: only while every partition is still ours
                        repo.check_progress(conn, stream=self.stream, expected=expected)
            except repo.ProgressMoved as moved:
                return moved.partitions
            return []

        def failed(_exc: BaseException) -> None:
            self.apply_retries += 1
            self._drop_connection()
            if messages:
                self.pinned.in_progress(messages)  # still ours while we retry

        moved = self.retry(f"applying {len(findings)} findings failed", commit, on_error=failed)
        if not moved:
            self.applied.update(progress)
            self.findings += len(findings)
        return moved

    # -- database ----------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        return self._db.get()

    def _drop_connection(self) -> None:
        self._db.drop()


def _record_states(done: Future[list[PartitionState]]) -> None:
    if done.cancelled():
        return
    exc = done.exception()
    if exc is not None:
        log.debug("partition states unavailable: %s", exc)
        return
    states = done.result()
    for st in states:
        metrics.PARTITION_LAG.labels(str(st.partition)).set(st.lag)
    metrics.PARTITIONS_WITHOUT_OWNER.set(sum(1 for st in states if st.lag and not st.pinned))
