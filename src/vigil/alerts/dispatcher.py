"""Webhook delivery from the outbox: at-least-once, with an idempotency key per delivery.

A dispatcher leases due deliveries (so a crashed dispatcher's work is retried after the lease),
POSTs each with ``Idempotency-Key`` and an HMAC-SHA256 signature of the body, and records the
result: delivered, retry later with exponential back-off, or dead after the last attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from vigil.alerts import repo
from vigil.alerts.destinations import (
    Destination,
    DestinationPolicy,
    UnsafeDestination,
    check_destination,
)
from vigil.alerts.models import DispatchPolicy

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Vigil-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    """Delivers to destinations checked again at each delivery (``destinations``: by default
    https only, nothing inside), connecting to the address checked; redirects are not
    followed (a 3xx is a failed attempt)."""

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        policy: DispatchPolicy | None = None,
        destinations: DestinationPolicy | None = None,
    ) -> None:
        self.policy = policy or DispatchPolicy()
        self.destinations = destinations or DestinationPolicy()
        self.client = client or httpx.Client(timeout=self.policy.timeout_s, follow_redirects=False)
        self.delivered = 0
        self.failed = 0
        self.dead = 0
        self.refused = 0

    def dispatch_due(self, conn: repo.Conn, *, now: datetime | None = None) -> int:
        """Deliver what is due; returns how many deliveries were attempted."""
        now = now or datetime.now(UTC)
        lease = timedelta(seconds=self.policy.timeout_s * 3)
        with conn.transaction():
            claimed = repo.claim_deliveries(conn, now=now, lease=lease, limit=self.policy.batch)
        for item in claimed:
            self._deliver(conn, item)
        return len(claimed)

    def _deliver(self, conn: repo.Conn, item: dict[str, Any]) -> None:
        body = json.dumps(
            {**item["payload"], "delivery_id": item["id"]}, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": str(item["idempotency_key"]),
            SIGNATURE_HEADER: sign(item["secret"], body),
            "User-Agent": "vigil-webhooks/1",
        }
        status: int | None = None
        error: str | None
        try:
            destination = check_destination(item["url"], self.destinations)
        except UnsafeDestination as exc:
            self.refused += 1
            error = f"refused: {exc}"
            log.warning("webhook destination refused: %s", exc, extra={"delivery_id": item["id"]})
        else:
            status, error = self._post(destination, body, headers)
        now = datetime.now(UTC)
        with conn.transaction():
            if error is None and status is not None:
                repo.mark_delivered(conn, delivery_id=item["id"], status=status, now=now)
                self.delivered += 1
                return
            attempts = int(item["attempts"])
            last = attempts >= self.policy.max_attempts
            retry_at = None if last else now + self.policy.backoff(attempts)
            repo.mark_failed(
                conn,
                delivery_id=item["id"],
                status=status,
                error=error or "unknown",
                retry_at=retry_at,
            )
        self.failed += 1
        if last:
            self.dead += 1
            log.warning(
                "webhook delivery dead after %d attempts",
                attempts,
                extra={"delivery_id": item["id"], "error": error},
            )
        else:
            log.info(
                "webhook delivery failed, retry %d scheduled",
                attempts,
                extra={"delivery_id": item["id"], "error": error},
            )

    def _post(
        self, destination: Destination, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        # To the address just checked, not to a second lookup of the name (which DNS could
        # answer differently); the Host header and the TLS server name stay the URL's.
        url = destination.url
        headers = {**headers, "Host": url.netloc.decode("ascii")}
        error = "no address"
        for pinned in destination.pinned_urls():
            try:
                response = self.client.post(
                    pinned,
                    content=body,
                    headers=headers,
                    extensions={"sni_hostname": url.host},
                    follow_redirects=False,
                )
            except httpx.ConnectError as exc:
                error = f"ConnectError: {exc}"
                continue  # the next address the name resolved to (IPv6 then IPv4, say)
            except httpx.HTTPError as exc:
                return None, f"{type(exc).__name__}: {exc}"
            status = response.status_code
            return status, None if response.is_success else f"HTTP {status}"
        return None, error

    def close(self) -> None:
        self.client.close()


class AlertWorker:
    """Two background threads, each with its own connection: the alert clock (escalate,
    wake snoozed alerts) and webhook delivery, so slow receivers never delay an escalation.

    Errors are logged with context and counted; the loops keep going.
    """

    def __init__(
        self,
        *,
        connect: Callable[[], psycopg.Connection[Any]],
        tick: Callable[[repo.Conn], object],
        dispatcher: WebhookDispatcher,
        interval_s: float = 0.5,
    ) -> None:
        self.connect = connect
        self.tick = tick
        self.dispatcher = dispatcher
        self.interval_s = interval_s
        self.errors = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, step in (("clock", self._clock), ("webhooks", self._deliver)):
            thread = threading.Thread(
                target=self._loop, args=(name, step), name=f"vigil-alerts-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.dispatcher.close()

    def _clock(self, conn: psycopg.Connection[Any]) -> None:
        self.tick(conn)

    def _deliver(self, conn: psycopg.Connection[Any]) -> None:
        while self.dispatcher.dispatch_due(conn) and not self._stop.is_set():
            pass

    def _loop(self, name: str, step: Callable[[psycopg.Connection[Any]], None]) -> None:
        conn: psycopg.Connection[Any] | None = None
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = self.connect()
                step(conn)
            except Exception:
                self.errors += 1
                log.exception("alert worker step failed", extra={"loop": name})
                if conn is not None:
                    conn.close()
                conn = None
            self._stop.wait(self.interval_s)
        if conn is not None:
            conn.close()
