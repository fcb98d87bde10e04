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


_METRIC_JSON = {m: json.dumps(m.value) for m in Metric}


def encode_readings(readings: Iterable[StoredReading]) -> bytes:
    """One array per reading; a censored one (a CGM's LOW or HIGH) carries its mark last.

    The bytes of ``json.dumps`` with compact separators (tests/stream/test_codec.py compares
    them), written as text: the hand-off encodes every reading, and a message's readings share
    one device and one arrival time, each formatted once.
    """
    parts = []
    devices: dict[str, str] = {}
    received: datetime | None = None
    received_iso = ""
    for r in readings:
        if r.received_at is not received:
            received, received_iso = r.received_at, r.received_at.isoformat()
        device = devices.get(r.device_id)
        if device is None:
            device = devices[r.device_id] = json.dumps(r.device_id)
        mark = "" if r.censored is None else f',"{r.censored}"'
        parts.append(
            f'["{r.time.isoformat()}",{_METRIC_JSON[r.metric]},{float(r.value)!r},{device},'
            f'"{received_iso}"{mark}]'
        )
    return f"[{','.join(parts)}]".encode()


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
