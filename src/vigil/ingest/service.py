"""The ingest service: batches inbound messages, stores them, hands them on, then acknowledges.

For each batch, in one transaction: parse every payload, attribute readings to patients by the
assignment valid at each reading's time, COPY the readings (a replay inserts nothing) and keep
every rejection with its reason, including a reading that contradicts a stored one (same
device, metric and time, another value). After the commit, each message's stored readings are
handed on (published to the readings stream, which acknowledges them), and only then is the
message acknowledged to the broker. If the database or the stream is unreachable, the batch is
retried with back-off and nothing is acknowledged; the broker holds everything else. A crash
between commit and hand-off loses nothing: the broker redelivers, the readings are found
already stored and are handed on again (the stream drops what it already has).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg
import psycopg.errors

from vigil.core import faults
from vigil.core.errors import RejectionKind, VigilError
from vigil.core.metrics import SPECS
from vigil.core.models import StoredMessage, StoredReading
from vigil.core.payload import Decoded, decode_payload, device_from_topic, parse_decoded
from vigil.core.worker import Backoff, Stopped, Worker
from vigil.ingest import metrics, repo
from vigil.ingest.inbox import FairInbox
from vigil.ingest.limits import DeviceRateLimiter, bundle, newest_in
from vigil.ingest.models import InboundMessage, IngestStats, RejectedRow
from vigil.settings import Settings
from vigil.storage import LoopConnection
from vigil.stream.codec import message_key

log = logging.getLogger(__name__)
T = TypeVar("T")

ReadingSink = Callable[[Sequence[StoredMessage]], object]
"""Takes each committed batch's stored readings, per message and patient, before the batch is
acknowledged; raises if it could not (they are offered again, nothing is acknowledged)."""
StartedSink = Callable[[Sequence[StoredMessage]], "Future[Any]"]
"""A :data:`ReadingSink` that does not wait: the future ends when the readings are taken (or
raises). Each call's readings must reach detection after the previous call's."""
Acker = Callable[[InboundMessage], object]


@dataclass(slots=True)
class _HandOff:
    """A committed batch whose readings are on their way to the stream, not yet acknowledged."""

    batch: list[InboundMessage]
    stored: list[StoredMessage]
    taken: Future[Any]


def _shown(value: float, censored: str | None, unit: str) -> str:
    """A value as the conflict reason shows it: a censored one says so (a CGM's LOW is
    stored as 40, censored below)."""
    if censored is None:
        return f"{value:g} {unit}"
    return f"{value:g} {unit} censored {censored} ({'LOW' if censored == 'below' else 'HIGH'})"


def _rollback(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """End a batch's transaction that failed (a connection that broke is dropped by the
    caller: its error is the one that counts)."""
    if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        conn.rollback()
    except psycopg.Error:
        log.debug("rollback after a failed batch failed", exc_info=True)


class BatchSizer:
    """How many messages the next batch takes, so that a batch takes about ``target_s``.

    A batch costs a fixed part (about a dozen round trips to the database) and a part per
    message, and both grow on a busy machine. A batch of ``batch_max`` flood messages took
    100-200 ms on a quiet machine and several times that on a loaded one, and a quiet device's
    reading that arrives meanwhile waits for it and for its own (docs/ingest.md, *A flooding
    device*). So the size follows the measured cost per message (a moving average over batches
    that did not wait for a retry): target / cost, between ``floor`` and ``batch_max``. Since
    the cost per message includes the fixed part spread over the batch, the size settles
    where a batch takes the target.

    >>> sizer = BatchSizer(500, 0.1)
    >>> sizer.next()
    500
    >>> for _ in range(20):
    ...     sizer.took(sizer.next(), 0.002 + 0.001 * sizer.next())  # 2 ms + 1 ms a message
    >>> sizer.next()
    98
    >>> BatchSizer(500, 0).next()  # no target: always the most
    500
    """

    def __init__(self, batch_max: int, target_s: float, *, floor: int = 20) -> None:
        self.batch_max = batch_max
        self.target_s = target_s
        self.floor = min(floor, batch_max)
        self.per_message_s = 0.0

    def next(self) -> int:
        if self.target_s <= 0 or self.per_message_s <= 0:
            return self.batch_max
        return max(self.floor, min(self.batch_max, int(self.target_s / self.per_message_s)))

    def took(self, messages: int, seconds: float) -> None:
        if messages <= 0:
            return
        per = seconds / messages
        old = self.per_message_s
        self.per_message_s = per if old <= 0 else 0.7 * old + 0.3 * per


def fill_wait_s(wait_s: float, last_batch: int) -> float:
    """How long the next batch waits to fill once its first message is there: ``wait_s``
    (``VIGIL_INGEST_BATCH_WAIT_MS``) while messages come more than one at a time, none after a
    batch of one. On a quiet system every reading came alone and waited the whole 20 ms for
    company that never came (`vigil bench pipeline`'s idle phase); under load the wait still
    gathers the batches that keep the transactions few (without it, half load fell behind).

    >>> fill_wait_s(0.02, 0)  # the first batch, or after a lone reading: at once
    0.0
    >>> fill_wait_s(0.02, 1)
    0.0
    >>> fill_wait_s(0.02, 7)  # messages are coming together: gather them
    0.02
    """
    return wait_s if last_batch > 1 else 0.0


class IngestService(Worker):
    def __init__(
        self,
        *,
        settings: Settings,
        database_url: str,
        inbox: FairInbox,
        ack: Acker,
        sink: ReadingSink | None = None,
        ack_many: Callable[[Sequence[InboundMessage]], object] | None = None,
        sink_started: StartedSink | None = None,
    ) -> None:
        """``ack_many``: acknowledges a whole batch at once, where the transport can.
        ``sink_started``: the sink's form that does not wait (pipelining: the next batch is
        read and committed while this one's readings go to the stream; ``sink`` is then the
        retry after a failure)."""
        super().__init__("ingest", backoff=Backoff(max_s=settings.ingest_retry_max_s))
        self.sink_started = sink_started
        self._handoff: _HandOff | None = None
        self.handoff_wait_s = 30.0
        """At most this long for a started hand-off (the publisher gives up sooner)."""
        self.ack_many = ack_many
        self.settings = settings
        self.database_url = database_url
        self.inbox = inbox
        self.ack = ack
        self.sink = sink
        self.stats = IngestStats()
        self._db = LoopConnection(database_url, purpose=self.name)
        self.limiter = DeviceRateLimiter(
            rate_per_s=settings.ingest_device_rate_per_s,
            burst=settings.ingest_device_burst,
            shares=settings.ingest_rate_shares or 1,  # unset: this process alone
        )
        self._series = repo.SeriesKeys()
        """Series keys met on this connection's database (made once, never changed)."""
        self._last_batch = 0
        """Messages in the last batch taken: whether to wait for the next one to fill."""
        self._admitted: dict[int, bool] = {}
        """This batch's rate-limit decisions by message: a retried or isolated batch is
        decided once, not charged again."""
        self.batch_size = BatchSizer(
            settings.ingest_batch_max, settings.ingest_batch_target_ms / 1000
        )

    def step(self) -> None:
        if self._handoff is not None and len(self.inbox) == 0:
            self._finish_handoff()  # nothing to read meanwhile: acknowledge it now
        batch = self._next_batch()
        if batch:
            self._process_with_retry(batch)

    def after_error(self) -> None:
        # Unacknowledged messages are redelivered on the next connection; keep going.
        self.stats.internal_errors += 1

    def close(self) -> None:
        if self._handoff is not None:
            try:  # a last batch on its way: acknowledge it if the stream took it, no retry
                self._handoff.taken.result(self.handoff_wait_s)
                self._acknowledge(self._handoff.batch, self._handoff.stored)
            except Exception as exc:
                log.warning("last hand-off not confirmed (its messages come again): %s", exc)
            self._handoff = None
        self._db.drop()

    def _next_batch(self) -> list[InboundMessage]:
        """Up to ``ingest_batch_max`` messages, taken round-robin across devices (so one
        device's backlog does not delay the others' next batch)."""
        size = self.batch_size.next()
        metrics.BATCH_SIZE.set(size)
        metrics.INBOX_MESSAGES.set(len(self.inbox))
        batch = self.inbox.take(
            size,
            wait_s=0.2,
            fill_s=fill_wait_s(self.settings.ingest_batch_wait_ms / 1000, self._last_batch),
        )
        if batch:
            self._last_batch = len(batch)
        return batch

    def _process_with_retry(self, batch: list[InboundMessage]) -> None:
        """Store ``batch``, hand its readings on, then acknowledge it. With ``sink_started``
        the hand-off is pipelined: this batch's readings are sent only once the previous
        batch's are in the stream (so a patient's readings keep their order there), and
        acknowledged when the stream has them, while the next batch is read and committed."""
        self._admitted = {}
        started, errors = time.monotonic(), self.stats.db_errors + self.stats.handoff_errors
        try:
            stored = self._retry("database", lambda: self._process_or_isolate(batch), len(batch))
            faults.reached("ingest_after_commit")
            if self.stats.db_errors + self.stats.handoff_errors == errors:  # a retry: no cost
                self.batch_size.took(len(batch), time.monotonic() - started)
            self._finish_handoff()
            if stored and self.sink is not None:
                if self.sink_started is not None:
                    self._handoff = _HandOff(batch, stored, self.sink_started(stored))
                    return
                sink = self.sink
                self._retry("stream", lambda: sink(stored), len(batch))
        except Stopped:
            return  # nothing acknowledged: the broker redelivers to the next ingest
        self._acknowledge(batch, stored)

    def _finish_handoff(self) -> None:
        """Wait for the hand-off under way; if the stream did not take it, offer it again
        (retried with back-off, as without pipelining); then acknowledge its batch.
        :class:`Stopped` (nothing acknowledged) if ingest stops meanwhile."""
        handoff, self._handoff = self._handoff, None
        if handoff is None:
            return
        try:
            handoff.taken.result(self.handoff_wait_s)
        except Exception as exc:
            self.stats.handoff_errors += 1
            metrics.HANDOFF_ERRORS.inc()
            log.warning(
                "stream did not take %d messages' readings (%s); offering them again",
                len(handoff.batch),
                exc,
            )
            sink, stored = self.sink, handoff.stored
            assert sink is not None
            self._retry("stream", lambda: sink(stored), len(handoff.batch))
        self._acknowledge(handoff.batch, handoff.stored)

    def _acknowledge(self, batch: list[InboundMessage], stored: list[StoredMessage]) -> None:
        if stored and self.sink is not None:
            self.stats.handed_on += sum(len(m.readings) for m in stored)
            faults.reached("ingest_after_publish")
        if self.ack_many is not None:
            self.ack_many(batch)
        else:
            for message in batch:
                self.ack(message)

    def _retry(self, what: str, step: Callable[[], T], pending: int) -> T:
        """Run ``step`` until it succeeds; :class:`Stopped` if ingest is stopped first."""

        def failed(_exc: BaseException) -> None:
            if what == "database":
                self.stats.db_errors += 1
                metrics.DB_ERRORS.inc()
                self._drop_connection()
            else:
                self.stats.handoff_errors += 1
                metrics.HANDOFF_ERRORS.inc()

        return self.retry(
            lambda: (
                f"{what} unavailable, {pending} messages kept unacknowledged"
                f" ({len(self.inbox)} more received, queued)"
            ),
            step,
            retry_on=(psycopg.OperationalError, psycopg.InterfaceError, VigilError),
            on_error=failed,
        )

    def _process_or_isolate(self, batch: list[InboundMessage]) -> list[StoredMessage]:
        """Process a batch; if it fails for a reason other than the database being unreachable
        (a bug, a value the database refuses), isolate the message at fault: every other message
        is stored normally and the faulty one is kept in ``rejected_messages``, so nothing is
        lost and one poison message cannot stall ingest."""
        try:
            return self.process(batch)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except Exception:
            self.stats.internal_errors += 1
            log.exception("batch of %d failed; isolating the faulty message(s)", len(batch))
        self._drop_connection()
        stored: list[StoredMessage] = []
        for message in batch:
            try:
                stored.extend(self.process([message]))
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise
            except Exception as exc:
                self.stats.internal_errors += 1
                log.exception(
                    "message mid=%s on %s could not be stored", message.mid, message.topic
                )
                self._drop_connection()
                conn = self._connection()
                with conn.transaction():
                    repo.store_rejections(
                        conn,
                        rows=[
                            RejectedRow.whole(
                                message,
                                device_from_topic(message.topic),
                                RejectionKind.INTERNAL,
                                f"internal error while storing: {type(exc).__name__}: {exc}"[:500],
                            )
                        ],
                    )
                self.stats.rejected += 1
        return stored

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        return self._db.get()

    def _drop_connection(self) -> None:
        self._db.drop()
        self._series = repo.SeriesKeys()

    def process(
        self, batch: Sequence[InboundMessage], *, rejected_out: list[RejectedRow] | None = None
    ) -> list[StoredMessage]:
        """Store one batch in one transaction; returns each message's stored readings (new or
        already stored with the same value), per patient. ``rejected_out`` receives the rows
        kept as rejected (an HTTP uploader is told which and why)."""
        conn = self._connection()
        rows: list[StoredReading] = []
        owner: list[int] = []
        rejected: list[RejectedRow] = []
        limited: dict[str, list[InboundMessage]] = {}
        self._series.forget_pending()
        try:
            named = [device_from_topic(m.topic) for m in batch]  # each topic read once
            with conn.pipeline():  # BEGIN and the devices: one round trip
                devices = repo.load_devices(conn, device_ids={d for d in named if d})
            for index, message in enumerate(batch):
                before = len(rows)
                self._parse(message, named[index], devices, rows, rejected, limited)
                owner += [index] * (len(rows) - before)
            # One row per key goes to storage; a repeat inside the batch is a repeat like any.
            unique: dict[repo.ReadingKey, StoredReading] = {}
            for r in rows:
                unique.setdefault(repo.reading_key(r), r)
            outcome = self._store(conn, list(unique.values()))
            groups: dict[tuple[int, UUID], list[StoredReading]] = {}
            conflicts: dict[int, list[str]] = {}
            if len(unique) == len(rows) and not outcome.existing:
                for r, index in zip(rows, owner, strict=True):  # every reading new, as sent
                    groups.setdefault((index, r.patient_id), []).append(r)
            else:
                self._compare(rows, owner, unique, outcome, groups, conflicts)
            for index, what in sorted(conflicts.items()):
                message = batch[index]
                rejected.append(
                    RejectedRow.whole(
                        message,
                        device_from_topic(message.topic),
                        RejectionKind.CONFLICT,
                        f"conflicts with {len(what)} stored reading(s) of the same device,"
                        f" metric and time ({'; '.join(what[:5])})"[:1000],
                    )
                )
            for device_id, kept_messages in limited.items():
                rejected.append(
                    RejectedRow(
                        kept_messages[0].received_at,
                        kept_messages[0].topic,
                        device_id,
                        bundle([(m.received_at, m.mid, m.payload) for m in kept_messages]),
                        None,
                        RejectionKind.RATE_LIMITED,
                        f"{self.limiter.reason(device_id)}: {len(kept_messages)} message(s)"
                        " kept in this row (payload: each message's arrival time, mid and"
                        " payload, base64)",
                        len(kept_messages),
                    )
                )
            repo.store_rejections(conn, rows=rejected)
            repo.commit_batch(
                conn,
                agreeing=(r for group in groups.values() for r in group),
                new_for={r.patient_id for r in outcome.inserted},
            )
        except BaseException:
            self._series.forget_pending()
            _rollback(conn)
            raise
        self._series.committed()
        if rejected_out is not None:
            rejected_out.extend(rejected)
        stored = outcome.inserted
        now = datetime.now(UTC)
        self.stats.messages += len(batch)
        self.stats.batches += 1
        self.stats.readings_stored += len(stored)
        duplicates = len(rows) - len(stored) - sum(map(len, conflicts.values()))
        self.stats.readings_duplicate += duplicates
        self.stats.rejected += sum(row.messages for row in rejected)
        self.stats.last_commit_lag_s = (now - batch[0].received_at).total_seconds()
        for row in rejected:
            self.stats.by_reason[row.kind] = self.stats.by_reason.get(row.kind, 0) + row.messages
            metrics.REJECTED.labels(row.kind.value).inc(row.messages)
        metrics.MESSAGES.inc(len(batch))
        metrics.READINGS_STORED.inc(len(stored))
        metrics.READINGS_DUPLICATE.inc(duplicates)
        for message in batch:
            metrics.COMMIT_LAG.observe((now - message.received_at).total_seconds())
        return [
            StoredMessage(
                message_key(patient_id, group[0].device_id, group),
                patient_id,
                group[0].device_id,
                tuple(sorted(group, key=lambda r: (r.time, r.metric.value))),
            )
            for (_, patient_id), group in groups.items()
        ]

    def _store(self, conn: repo.Conn, rows: list[StoredReading]) -> repo.StoreOutcome:
        """Store ``rows`` (one per key): straight into the hypertable when none is stored yet
        (the usual batch: no stage, no second statement), else, after the unique key refused
        that and the transaction was rolled back, through the stage, which finds the repeats
        and conflicts (the devices read before are still current: nothing else was written)."""
        if not rows:
            return repo.StoreOutcome([], {})
        try:
            repo.copy_new_readings(conn, rows=rows, series=self._series.keys_for(conn, rows))
            return repo.StoreOutcome(rows, {})
        except psycopg.errors.UniqueViolation:
            self._series.forget_pending()
            conn.rollback()
        self.stats.staged_batches += 1
        return repo.store_readings(conn, rows=rows)

    @staticmethod
    def _compare(
        rows: list[StoredReading],
        owner: list[int],
        unique: dict[repo.ReadingKey, StoredReading],
        outcome: repo.StoreOutcome,
        groups: dict[tuple[int, UUID], list[StoredReading]],
        conflicts: dict[int, list[str]],
    ) -> None:
        """Each reading against what storage keeps for its key (stored now, before, or earlier
        in this batch): the same value goes on to detection (with the first arrival time), another
        is a conflict of its message, with both values."""
        kept = {
            k: (r.value, r.censored, r.received_at) for k, r in unique.items()
        } | outcome.existing
        for r, index in zip(rows, owner, strict=True):
            value, censored, received_at = kept[repo.reading_key(r)]
            if (value, censored) == (r.value, r.censored):
                # As storage has it (a repeat keeps its first arrival time).
                same = r if received_at == r.received_at else replace(r, received_at=received_at)
                groups.setdefault((index, r.patient_id), []).append(same)
            else:
                unit = SPECS[r.metric].ucum
                conflicts.setdefault(index, []).append(
                    f"{r.metric.value} at {r.time.isoformat()}: stored"
                    f" {_shown(value, censored, unit)}, this message"
                    f" {_shown(r.value, r.censored, unit)}"
                )

    def _parse(
        self,
        message: InboundMessage,
        device_id: str | None,
        devices: dict[str, repo.DeviceInfo],
        rows: list[StoredReading],
        rejected: list[RejectedRow],
        limited: dict[str, list[InboundMessage]],
    ) -> None:

        def reject(
            kind: RejectionKind, reason: str, item: int | None = None, raw: bytes | None = None
        ) -> None:
            rejected.append(
                RejectedRow(
                    message.received_at,
                    message.topic,
                    device_id,
                    message.payload if raw is None else raw,
                    item,
                    kind,
                    reason,
                )
            )

        if device_id is None:
            return reject(RejectionKind.OTHER, "topic is not a device readings topic")
        if message.retain:
            return reject(RejectionKind.RETAINED, "retained message: readings must not be retained")
        device = devices.get(device_id)
        if device is None:
            return reject(RejectionKind.UNKNOWN_DEVICE, f"unknown device {device_id!r}")
        if device.revoked_at is not None and device.revoked_at <= message.received_at:
            return reject(RejectionKind.REVOKED, f"device {device_id!r} was revoked")
        admitted = self._admitted.get(id(message))
        decoded: Decoded | None = None
        if admitted is None:
            newest = None
            if self.limiter.enabled:
                decoded = decode_payload(
                    message.payload, max_bytes=self.settings.ingest_max_message_bytes
                )
                newest = newest_in(decoded.doc)
            admitted = self.limiter.admit(device_id, message.received_at, newest)
            self._admitted[id(message)] = admitted
        if not admitted:
            limited.setdefault(device_id, []).append(message)  # kept in one row a batch
            return
        if decoded is None:
            decoded = decode_payload(
                message.payload, max_bytes=self.settings.ingest_max_message_bytes
            )
        parsed = parse_decoded(  # the same decode the limiter read: each payload decoded once
            decoded,
            device_id=device_id,
            received_at=message.received_at,
            future_tolerance_s=self.settings.ingest_future_tolerance_s,
            max_age_days=self.settings.ingest_max_age_days,
            max_readings=self.settings.ingest_max_readings,
        )
        for rejection in parsed.rejections:
            raw = rejection.raw_item.encode() if rejection.raw_item is not None else None
            reject(rejection.kind, rejection.reason, rejection.item, raw)
        unassigned: list[str] = []
        for reading in parsed.readings:
            patient_id = device.patient_at(reading.time)
            if patient_id is None:
                unassigned.append(reading.time.isoformat())
                continue
            rows.append(
                StoredReading(
                    reading.time,
                    patient_id,
                    reading.metric,
                    reading.value,
                    device_id,
                    message.received_at,
                    reading.censored,
                )
            )
        if unassigned:
            unassigned.sort()
            reject(
                RejectionKind.UNASSIGNED,
                f"device {device_id!r} is not assigned to a patient at the time of "
                f"{len(unassigned)} reading(s) ({unassigned[0]} to {unassigned[-1]})",
            )
