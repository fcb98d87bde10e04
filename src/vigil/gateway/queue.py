"""The on-disk queue: every decoded reading is written here (SQLite in WAL mode, synchronous
FULL: each commit is fsynced) before anything else, and leaves it only when Vigil's broker has
acknowledged it (MQTT PUBACK at QoS 1). A reading delivered is remembered by its key, so a
device that sends its stored records again (a cuff at each connection, a meter after a crash)
does not send them to Vigil twice; a re-publish after a crash carries the same ``ts`` and is
absorbed by Vigil's idempotent store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    enqueued_at TEXT NOT NULL,
    UNIQUE (device_id, key)
);
CREATE TABLE IF NOT EXISTS delivered (
    device_id TEXT NOT NULL,
    key TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);
CREATE TABLE IF NOT EXISTS glucose_cursor (
    device_id TEXT PRIMARY KEY,
    last_sequence INTEGER NOT NULL
);
"""
DELIVERED_KEPT = timedelta(days=90)
"""How long a delivered reading's key is remembered (longer than any device keeps records)."""


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    device_id: str
    payload: bytes


class DiskQueue:
    """One SQLite file; safe to use from the gateway's loop and the MQTT client's thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        self._prune()

    def _prune(self) -> None:
        cutoff = (datetime.now(UTC) - DELIVERED_KEPT).isoformat()
        with self._lock:
            self._conn.execute("DELETE FROM delivered WHERE delivered_at < ?", (cutoff,))

    def enqueue(
        self,
        *,
        device_id: str,
        key: str,
        payload: dict[str, Any],
        glucose_sequence: int | None = None,
    ) -> bool:
        """Keep ``payload`` until acknowledged; False if this key is queued or was delivered.
        A glucose record moves the device's cursor in the same transaction."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                seen = self._conn.execute(
                    "SELECT 1 FROM delivered WHERE device_id = ? AND key = ?", (device_id, key)
                ).fetchone()
                added = 0
                if seen is None:
                    added = self._conn.execute(
                        "INSERT OR IGNORE INTO queue (device_id, key, payload, enqueued_at)"
                        " VALUES (?, ?, ?, ?)",
                        (device_id, key, json.dumps(payload, separators=(",", ":")), now),
                    ).rowcount
                if glucose_sequence is not None:
                    self._conn.execute(
                        "INSERT INTO glucose_cursor (device_id, last_sequence) VALUES (?, ?)"
                        " ON CONFLICT (device_id) DO UPDATE SET last_sequence ="
                        " max(last_sequence, excluded.last_sequence)",
                        (device_id, glucose_sequence),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return added > 0

    def pending(self, device_id: str, *, exclude: set[int], limit: int) -> list[Queued]:
        """The oldest queued readings of a device, not counting those in flight."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, payload FROM queue WHERE device_id = ? ORDER BY id LIMIT ?",
                (device_id, limit + len(exclude)),
            ).fetchall()
        return [Queued(i, device_id, p.encode()) for i, p in rows if i not in exclude][:limit]

    def acknowledged(self, queued_id: int) -> None:
        """The broker has it: forget the reading, remember its key (one transaction)."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "DELETE FROM queue WHERE id = ? RETURNING device_id, key", (queued_id,)
                ).fetchone()
                if row is not None:
                    self._conn.execute(
                        "INSERT OR IGNORE INTO delivered VALUES (?, ?, ?)", (row[0], row[1], now)
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def glucose_cursor(self, device_id: str) -> int | None:
        """The highest glucose sequence number kept from this meter (None: none yet)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT last_sequence FROM glucose_cursor WHERE device_id = ?", (device_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def counts(self) -> tuple[int, int]:
        """(queued, delivered) readings."""
        with self._lock:
            queued = self._conn.execute("SELECT count(*) FROM queue").fetchone()[0]
            delivered = self._conn.execute("SELECT count(*) FROM delivered").fetchone()[0]
        return int(queued), int(delivered)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
