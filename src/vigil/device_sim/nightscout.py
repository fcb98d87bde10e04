"""A simulated phone uploading CGM as xDrip+ does, over Vigil's Nightscout API.

xDrip+ (NightscoutUploader) sends arrays of entries of up to 300 records from its upload queue,
gzip bodies, the ``api-secret`` header (the SHA-1 hex of the secret) and ``dateString`` in
Java's ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` (``+0900`` on a Korean phone). Used by the demo (one
patient's CGM arrives this way) and by ``vigil bench nightscout``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import httpx
import psycopg

from vigil.api.nightscout import epoch_ms
from vigil.storage import admin
from vigil.storage.nightscout import NightscoutSecrets

log = logging.getLogger(__name__)
XDRIP_BATCH = 300
"""xDrip+ takes up to 300 pending records from its upload queue at a time."""
SEOUL = timezone(timedelta(hours=9))


def java_date_string(ts: datetime) -> str:
    """Java's ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` as a Korean phone writes it (``+0900``).

    >>> java_date_string(datetime(2026, 12, 7, 9, 5, tzinfo=UTC))
    '2026-12-07T18:05:00.000+0900'
    """
    local = ts.astimezone(SEOUL)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+0900"


def cgm_curve(ts: datetime) -> int:
    """A plausible day of CGM (mg/dL): about 100 overnight, rising after meals at 8, 13 and
    19 h local time."""
    hour = ts.astimezone(SEOUL).hour + ts.minute / 60
    meals = sum(
        60 * math.exp(-(((hour - meal) % 24 - 1.0) ** 2) / 0.8) for meal in (8.0, 13.0, 19.0)
    )
    return round(100 + meals)


def _direction(delta: float) -> str:
    """The simulated phone's arrow: flat unless the 5-minute change is 5 mg/dL or more (the
    display's, not a clinical judgement)."""
    if abs(delta) < 5:
        return "Flat"
    return "FortyFiveUp" if delta > 0 else "FortyFiveDown"


def xdrip_entry(ts: datetime, sgv: int, previous: int | None) -> dict[str, Any]:
    """One entry as xDrip+ sends it."""
    delta = 0.0 if previous is None else float(sgv - previous)
    return {
        "device": "xDrip-DexcomG6",
        "date": epoch_ms(ts),
        "dateString": java_date_string(ts),
        "sgv": sgv,
        "delta": delta,
        "direction": "Flat"
        if abs(delta) < 5
        else ("FortyFiveUp" if delta > 0 else "FortyFiveDown"),
        "type": "sgv",
        "filtered": sgv * 1000.0,
        "unfiltered": sgv * 1000.0,
        "rssi": 100,
        "noise": 1,
        "sysTime": java_date_string(ts),
    }


def xdrip_backlog(end: datetime, *, days: float, every_min: int = 5) -> list[dict[str, Any]]:
    """Oldest first: ``days`` of entries every ``every_min`` minutes up to ``end``."""
    n = int(days * 24 * 60 // every_min)
    out: list[dict[str, Any]] = []
    previous: int | None = None
    for i in range(n):
        ts = end - timedelta(minutes=every_min * (n - 1 - i))
        sgv = cgm_curve(ts)
        out.append(xdrip_entry(ts, sgv, previous))
        previous = sgv
    return out


def upload(api: httpx.Client, url: str, secret: str, entries: list[dict[str, Any]]) -> int:
    """POST ``entries`` to ``url`` (``.../ns/api/v1/entries``) in xDrip+'s batches; returns how
    many the answers say were rejected. Raises on an answer that is not a 2xx."""
    headers = {
        "api-secret": hashlib.sha1(secret.encode()).hexdigest(),  # noqa: S324 (the protocol)
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    rejected = 0
    for start in range(0, len(entries), XDRIP_BATCH):
        body = gzip.compress(json.dumps(entries[start : start + XDRIP_BATCH]).encode())
        answer = api.post(url, content=body, headers=headers)
        answer.raise_for_status()
        rejected += int(answer.headers.get("X-Vigil-Rejected", "0"))
    return rejected


class XdripUploader(threading.Thread):
    """The demo's phone: uploads the backlog, then one entry every ``every_s`` seconds (the
    reading of that moment), retrying what was not acknowledged, until stopped."""

    def __init__(self, url: str, secret: str, *, backlog_days: float, every_s: float) -> None:
        super().__init__(name="vigil-demo-xdrip", daemon=True)
        self.url = f"{url.rstrip('/')}/api/v1/entries"
        self.secret = secret
        self.backlog_days = backlog_days
        self.every_s = every_s
        self.stopped = threading.Event()
        self.sent = 0

    def run(self) -> None:
        pending = xdrip_backlog(
            datetime.now(UTC).replace(second=0, microsecond=0), days=self.backlog_days
        )
        previous = pending[-1]["sgv"] if pending else None
        with httpx.Client(timeout=30) as api:
            while not self.stopped.is_set():
                if pending:
                    try:
                        upload(api, self.url, self.secret, pending)
                        self.sent += len(pending)
                        pending = []
                    except httpx.HTTPError as exc:  # kept, sent again: nothing acknowledged
                        log.warning("demo xDrip+ upload failed, retrying: %s", exc)
                if self.stopped.wait(self.every_s):
                    break
                now = datetime.now(UTC).replace(microsecond=0)
                sgv = cgm_curve(now)
                pending.append(xdrip_entry(now, sgv, previous))
                previous = sgv

    def stop(self) -> None:
        self.stopped.set()
        self.join(10)


def enrol_phone_patient(
    database_url: str, *, tenant_id: UUID, name: str, days: float
) -> tuple[UUID, NightscoutSecrets]:
    """A type 1 patient with a CGM device assigned since ``days`` (+1) ago: the phone's
    backlog is theirs. Returns the patient and the device's Nightscout credentials."""
    with psycopg.connect(database_url) as conn:
        patient, creds = admin.enrol_with_device(
            conn,
            tenant_id=tenant_id,
            display_name=name,
            kind="cgm",
            conditions=["t1d"],
            assigned_since=timedelta(days=days + 1),
        )
        conn.commit()
    assert creds.nightscout is not None
    return patient, creds.nightscout
