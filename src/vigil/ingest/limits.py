"""Per-device rate limit: a token bucket per device, so one flooding device cannot hold up the
others behind it in the broker's single queue for ingest.

Each message costs one token. The bucket refills at ``rate`` tokens a second, up to ``burst``,
by whichever advanced more since the device's last message: the arrival clock, or the device's
own clock (the newest reading time it sent). So a device emptying an honest backlog (readings
recorded at its usual pace, delivered all at once after an outage of the device, the broker or
ingest) earns its tokens from its readings' times and is never limited, while a device that
sends faster than ``rate`` on both clocks (a flood, whatever the readings say) is limited once
its burst is spent. A limited message is not parsed further nor stored as readings: it is kept
whole in ``rejected_messages`` (kind ``rate_limited``) with the reason, and acknowledged; a
batch's limited messages of one device share one row (:func:`bundle`), so a flood's excess
costs a JSON read a message and one row a batch.

The buckets live in one ingest process. With N ingest processes (they pull from one queue, so a
device's messages spread over them evenly over time) each admits 1/N of the rate and burst
(``VIGIL_INGEST_RATE_SHARES``, by default the processes `vigil serve` or `vigil ingest` runs),
so together they never admit more than one process with the whole limit would.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def newest_time(payload: bytes) -> datetime | None:
    """The newest well-formed ``ts`` in a payload, read cheaply (no validation: the limiter
    decides before the full parse, so a flood's excess costs a JSON read, not a parse)."""
    try:
        doc: Any = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return newest_in(doc)


def newest_in(doc: Any) -> datetime | None:
    """:func:`newest_time` of a payload already decoded (ingest decodes each payload once, for
    this and the parser; None for one that did not decode)."""
    items = doc.get("readings") if isinstance(doc, dict) else None
    newest: datetime | None = None
    if isinstance(items, list):
        for item in items:
            ts = item.get("ts") if isinstance(item, dict) else None
            if not isinstance(ts, str):
                continue
            try:
                t = datetime.fromisoformat(ts)
            except ValueError:
                continue
            if t.tzinfo is not None and (newest is None or t > newest):
                newest = t
    return newest


@dataclass(slots=True)
class _Bucket:
    tokens: float
    arrived: float
    """Arrival time of the device's last message (seconds since the epoch)."""
    clock: float | None
    """The newest reading time the device has sent (seconds since the epoch)."""


class DeviceRateLimiter:
    def __init__(self, *, rate_per_s: float, burst: int, shares: int = 1) -> None:
        """``shares``: the ingest processes that share each device's limit; this one admits
        its share (rate and burst divided by ``shares``), so together they admit no more
        than the limit. The reason a message is refused names the whole limit."""
        self.shares = max(1, shares)
        self.limit_rate, self.limit_burst = rate_per_s, burst
        self.rate = rate_per_s / self.shares
        self.burst = max(1.0, burst / self.shares)
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def admit(self, device_id: str, arrived: datetime, newest: datetime | None) -> bool:
        """Take a token for one message of ``device_id``; False if its bucket is empty."""
        if not self.enabled:
            return True
        at = arrived.timestamp()
        clock = newest.timestamp() if newest is not None else None
        bucket = self._buckets.get(device_id)
        if bucket is None:
            bucket = self._buckets[device_id] = _Bucket(self.burst, at, clock)
        else:
            by_arrival = max(0.0, at - bucket.arrived)
            by_clock = 0.0
            if clock is not None:
                if bucket.clock is not None:
                    by_clock = max(0.0, clock - bucket.clock)
                bucket.clock = clock if bucket.clock is None else max(bucket.clock, clock)
            bucket.tokens = min(self.burst, bucket.tokens + self.rate * max(by_arrival, by_clock))
            bucket.arrived = max(bucket.arrived, at)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False

    def reason(self, device_id: str) -> str:
        shared = f" (this ingest process's share: 1/{self.shares})" if self.shares > 1 else ""
        return (
            f"rate limited: device {device_id!r} sent more than {self.limit_rate:g} message(s)/s"
            f" beyond a burst of {self.limit_burst:g}, by arrival and by its readings' times"
            + shared
        )


KEPT_MESSAGES_SQL = (
    "coalesce(sum(CASE WHEN reason LIKE 'rate limited:%%' THEN jsonb_array_length("
    "convert_from(payload, 'UTF8')::jsonb -> 'rate_limited_messages') ELSE 1 END), 0)"
)
"""An aggregate over ``rejected_messages`` rows: the messages they keep, a :func:`bundle`
row counting each of its messages (for psycopg with parameters: ``%%`` is a literal ``%``)."""


def bundle(messages: list[tuple[datetime, int, bytes]]) -> bytes:
    """The payload of the one rejected row that keeps a batch's rate-limited messages of a
    device: JSON, each message's arrival time, MQTT mid and raw payload (base64), in order."""
    return json.dumps(
        {
            "rate_limited_messages": [
                {
                    "received_at": at.isoformat(),
                    "mid": mid,
                    "payload_b64": base64.b64encode(payload).decode(),
                }
                for at, mid, payload in messages
            ]
        },
        separators=(",", ":"),
    ).encode()
