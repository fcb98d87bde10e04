"""Ingest's SQL: assignments lookup, idempotent COPY of readings, rejected messages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg

from vigil.core.metrics import SPECS, Metric
from vigil.core.models import StoredReading
from vigil.ingest.models import RejectedRow
from vigil.storage.db import notify_new_readings, reading_series_keys

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Assignment:
    patient_id: UUID
    valid_from: datetime
    valid_to: datetime | None

    def covers(self, ts: datetime) -> bool:
        return self.valid_from <= ts and (self.valid_to is None or ts < self.valid_to)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    revoked_at: datetime | None
    assignments: tuple[Assignment, ...]

    def patient_at(self, ts: datetime) -> UUID | None:
        for a in self.assignments:
            if a.covers(ts):
                return a.patient_id
        return None


def load_devices(conn: Conn, *, device_ids: Iterable[str]) -> dict[str, DeviceInfo]:
    """Known devices among ``device_ids`` with all their assignments."""
    rows = conn.execute(
        "SELECT d.id, d.revoked_at, a.patient_id, lower(a.valid), upper(a.valid)"
        " FROM devices d LEFT JOIN device_assignments a ON a.device_id = d.id"
        " WHERE d.id = ANY(%s)",
        (list(device_ids),),
    ).fetchall()
    found: dict[str, tuple[datetime | None, list[Assignment]]] = {}
    for device_id, revoked_at, patient_id, lower, upper in rows:
        entry = found.setdefault(str(device_id), (revoked_at, []))  # type: ignore[arg-type]
        if patient_id is not None:
            entry[1].append(Assignment(patient_id, lower, upper))  # type: ignore[arg-type]
    return {k: DeviceInfo(v[0], tuple(v[1])) for k, v in found.items()}


SeriesKey = tuple[UUID, Metric, str]
"""A series of ``reading_rows``: (patient, metric, device)."""


class SeriesKeys:
    """The integer keys of the series ingest has met (``reading_series``: a key, once made, is
    never changed or deleted). Keys made in a transaction count only once it has committed:
    :meth:`committed` after the commit, :meth:`forget_pending` after a rollback."""

    def __init__(self) -> None:
        self.known: dict[SeriesKey, int] = {}
        self._pending: dict[SeriesKey, int] = {}

    def keys_for(self, conn: Conn, rows: Sequence[StoredReading]) -> dict[SeriesKey, int]:
        """The keys of every row's series, made for those not stored yet (in the caller's
        transaction; a round trip only when the batch has a series not met before)."""
        known = self.known
        missing = {
            k for r in rows if (k := (r.patient_id, r.metric, r.device_id)) not in known
        } - self._pending.keys()
        if missing:
            self._pending.update(reading_series_keys(conn, series=missing))
        return known | self._pending if self._pending else known

    def committed(self) -> None:
        self.known.update(self._pending)
        self._pending.clear()

    def forget_pending(self) -> None:
        self._pending.clear()


def copy_new_readings(
    conn: Conn, *, rows: Sequence[StoredReading], series: dict[SeriesKey, int]
) -> None:
    """COPY ``rows`` (one per key) straight into ``reading_rows``, in the caller's transaction.

    For a batch with no reading stored before (the usual one): raises
    :class:`psycopg.errors.UniqueViolation` if any is, and the caller rolls back and takes
    :func:`store_readings` instead, which finds the repeats and the conflicts."""
    with conn.cursor() as cur, cur.copy(_COPY_ROWS) as copy:
        copy.set_types(["timestamptz", "timestamptz", "int4", "float4", "text"])
        write = copy.write_row
        for r in rows:
            write(
                (
                    r.time,
                    r.received_at,
                    series[(r.patient_id, r.metric, r.device_id)],
                    r.value,
                    r.censored,
                )
            )


_COPY_ROWS = (
    "COPY reading_rows (time, received_at, series, value, censored) FROM STDIN (FORMAT BINARY)"
)

_LATEST = (
    "INSERT INTO latest_readings (patient_id, metric, time, value, unit, device_id, censored)"
    " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[], %s::float8[], %s::text[],"
    " %s::text[], %s::text[]) ORDER BY 1, 2"
    " ON CONFLICT (patient_id, metric) DO UPDATE SET time = EXCLUDED.time,"
    " value = EXCLUDED.value, unit = EXCLUDED.unit, device_id = EXCLUDED.device_id,"
    " censored = EXCLUDED.censored"
    " WHERE latest_readings.time < EXCLUDED.time"
)


def commit_batch(conn: Conn, *, agreeing: Iterable[StoredReading], new_for: Iterable[UUID]) -> None:
    """Note the newest of ``agreeing`` (readings storage holds with these values) in
    ``latest_readings`` per patient and metric, notify that ``new_for``'s patients have new
    readings, and commit: one round trip. The rows are upserted in a consistent order (no
    deadlocks between ingest instances); an older backlog reading never replaces a newer
    value."""
    newest: dict[tuple[UUID, Metric], StoredReading] = {}
    for r in agreeing:
        k = (r.patient_id, r.metric)
        seen = newest.get(k)
        if seen is None or r.time > seen.time:
            newest[k] = r
    latest = list(newest.values())
    with conn.pipeline():
        if latest:
            conn.execute(
                _LATEST,
                (
                    [r.patient_id for r in latest],
                    [r.metric.value for r in latest],
                    [r.time for r in latest],
                    [float(r.value) for r in latest],  # an int among floats: one type
                    [SPECS[r.metric].ucum for r in latest],
                    [r.device_id for r in latest],
                    [r.censored for r in latest],
                ),
            )
        notify_new_readings(conn, new_for)
        conn.commit()


_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS readings_stage"
    " (LIKE readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)


# Storage keeps a reading once per series (patient, metric, device) and time in reading_rows
# (migrations 0180, 0190): the series by its integer key, made here on first sight (only for
# series not there yet, so the identity sequence advances once per new series).
_NEW_KEYS = (
    "INSERT INTO reading_series (patient_id, metric, device_id)"
    " SELECT DISTINCT s.patient_id, m.id, s.device_id FROM readings_stage s"
    " JOIN reading_metrics m ON m.metric = s.metric"
    " WHERE NOT EXISTS (SELECT FROM reading_series k"
    " WHERE k.patient_id = s.patient_id AND k.metric = m.id AND k.device_id = s.device_id)"
    " ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING"
)
_INSERT = (
    "WITH ins AS (INSERT INTO reading_rows (time, received_at, series, value, censored)"
    " SELECT s.time, s.received_at, k.id, s.value, s.censored FROM readings_stage s"
    " JOIN reading_metrics m ON m.metric = s.metric"
    " JOIN reading_series k"
    " ON k.patient_id = s.patient_id AND k.metric = m.id AND k.device_id = s.device_id"
    " ON CONFLICT (series, time) DO NOTHING"
    " RETURNING time, series)"
    " SELECT k.device_id, m.metric, ins.time FROM ins JOIN reading_series k ON k.id = ins.series"
    " JOIN reading_metrics m ON m.id = k.metric"
)
"""Stores the staged rows; gives back the keys of those stored (the rows are the caller's)."""

ReadingKey = tuple[str, str, datetime]
"""What storage keeps once: (device, metric, time)."""


def reading_key(r: StoredReading) -> ReadingKey:
    return (r.device_id, r.metric.value, r.time)


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    inserted: list[StoredReading]
    """Readings newly stored by this call."""
    existing: dict[ReadingKey, tuple[float, str | None, datetime]]
    """For each offered reading that was stored before, the value and censored mark storage
    holds and when it was first received."""


def store_readings(conn: Conn, *, rows: Sequence[StoredReading]) -> StoreOutcome:
    """COPY ``rows`` (one per key) into a stage and insert those not stored yet: the path of
    a batch with repeats (:func:`copy_new_readings` is the usual one).

    Must run inside the caller's transaction. A replayed reading (same device, metric and
    time) inserts nothing; the value already stored is returned for it, so the caller can tell
    a repeat from a conflict. A censored reading (a CGM's LOW stored as 40, censored below)
    and a measured 40 are different readings: value and mark both make a reading the same.
    Only readings that agree with storage go on to the latest values
    (:func:`commit_batch`).
    """
    if not rows:
        return StoreOutcome([], {})
    conn.execute(_STAGE)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY readings_stage (time, patient_id, metric, value, unit, device_id, received_at,"
            " censored) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                ["timestamptz", "uuid", "text", "float8", "text", "text", "timestamptz", "text"]
            )
            for r in rows:
                copy.write_row(
                    (
                        r.time,
                        r.patient_id,
                        r.metric.value,
                        r.value,
                        SPECS[r.metric].ucum,
                        r.device_id,
                        r.received_at,
                        r.censored,
                    )
                )
        with conn.pipeline():  # the keys and the insert: one round trip
            cur.execute(_NEW_KEYS)
            cur.execute(_INSERT)
            found = cur.fetchall()
        # Only the keys come back: the rows are ours already.
        offered = {reading_key(r): r for r in rows}
        inserted = [offered[(d, m, t)] for d, m, t in found]  # type: ignore[index]
        existing: dict[ReadingKey, tuple[float, str | None, datetime]] = {}
        if len(inserted) < len(rows):
            new = {reading_key(r) for r in inserted}
            repeats = [r for r in rows if reading_key(r) not in new]
            cur.execute(
                "SELECT r.device_id, r.metric, r.time, r.value, r.censored, r.received_at"
                " FROM readings r"
                " JOIN unnest(%s::uuid[], %s::text[], %s::text[], %s::timestamptz[])"
                " AS k(patient_id, device_id, metric, time)"
                " ON (r.patient_id, r.device_id, r.metric, r.time)"
                " = (k.patient_id, k.device_id, k.metric, k.time)",
                (
                    [r.patient_id for r in repeats],
                    [r.device_id for r in repeats],
                    [r.metric.value for r in repeats],
                    [r.time for r in repeats],
                ),
            )
            existing = {(d, m, t): (v, c, rc) for d, m, t, v, c, rc in cur.fetchall()}  # type: ignore[misc]
    return StoreOutcome(inserted, existing)


def rejection_key(topic: str, payload: bytes, item: int | None) -> bytes:
    h = hashlib.sha256()
    h.update(topic.encode())
    h.update(b"\0")
    h.update(payload)
    h.update(b"\0" + str(item).encode())
    return h.digest()


_REJECT_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS rejected_stage"
    " (LIKE rejected_messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)


def store_rejections(conn: Conn, *, rows: Sequence[RejectedRow]) -> int:
    """Insert rejected messages in bulk (COPY; a replay of the same message is kept once).

    Must run inside the caller's transaction, once (the stage empties at commit): a batch's
    rejections take one COPY rather than a statement each."""
    if not rows:
        return 0
    conn.execute(_REJECT_STAGE)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY rejected_stage (received_at, topic, device_id, payload, item, reason,"
            " dedup_key) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["timestamptz", "text", "text", "bytea", "int4", "text", "bytea"])
            for r in rows:
                copy.write_row(
                    (
                        r.received_at,
                        r.topic,
                        r.device_id,
                        r.payload,
                        r.item,
                        r.reason,
                        rejection_key(r.topic, r.payload, r.item),
                    )
                )
        cur.execute(
            "INSERT INTO rejected_messages"
            " (received_at, topic, device_id, payload, item, reason, dedup_key)"
            " SELECT DISTINCT ON (dedup_key) received_at, topic, device_id, payload, item,"
            " reason, dedup_key FROM rejected_stage ORDER BY dedup_key"
            " ON CONFLICT (dedup_key) DO NOTHING"
        )
    return len(rows)
