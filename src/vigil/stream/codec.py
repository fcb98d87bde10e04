"""One stream message: a :class:`StoredMessage`'s readings, compact JSON; its key, a digest.

>>> from datetime import UTC, datetime
>>> from vigil.core.metrics import Metric
>>> t = datetime(2026, 1, 1, 8, tzinfo=UTC)
>>> p = UUID("00000000-0000-0000-0000-000000000001")
>>> r = StoredReading(t, p, Metric.SPO2, 93.0, "ox-1", t)
>>> decode_readings(p, encode_readings((r,))) == (r,)
True
>>> low = StoredReading(t, p, Metric.GLUCOSE, 40.0, "cgm-1", t, "below")
>>> decode_readings(p, encode_readings((low,))) == (low,)
True
>>> message_key(p, "ox-1", [r]) == message_key(p, "ox-1", [r, r])
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from vigil.core.metrics import Metric
from vigil.core.models import StoredReading


def message_key(patient_id: UUID, device_id: str, readings: Iterable[StoredReading]) -> str:
    """The same readings (patient, device, metric and time: what storage keeps once) give the
    same key: the stream's ``Nats-Msg-Id``."""
    keys = sorted({(r.metric.value, r.time.isoformat()) for r in readings})
    digest = hashlib.sha256(f"{patient_id}|{device_id}|{keys}".encode())
    return digest.hexdigest()[:40]


def encode_readings(readings: Iterable[StoredReading]) -> bytes:
    """One array per reading; a censored one (a CGM's LOW or HIGH) carries its mark last."""
    return json.dumps(
        [
            [r.time.isoformat(), r.metric.value, r.value, r.device_id, r.received_at.isoformat()]
            + ([r.censored] if r.censored is not None else [])
            for r in readings
        ],
        separators=(",", ":"),
    ).encode()


def decode_readings(patient_id: UUID, data: bytes) -> tuple[StoredReading, ...]:
    return tuple(
        StoredReading(
            datetime.fromisoformat(t),
            patient_id,
            Metric(m),
            float(v),
            str(d),
            datetime.fromisoformat(rc),
            *mark,
        )
        for t, m, v, d, rc, *mark in json.loads(data)
    )
