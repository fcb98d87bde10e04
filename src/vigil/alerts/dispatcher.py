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
from vigil.core.worker import Backoff, Worker
from vigil.fhir import webhook_issue
from vigil.storage import LoopConnection

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Vigil-Signature"
FHIR_FORMAT = "fhir"
"""A destination's ``payload_format`` for the alert as a FHIR DetectedIssue."""


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
        if item.get("payload_format") == FHIR_FORMAT:
            # The alert as a FHIR DetectedIssue; the delivery's id is the Idempotency-Key.
            content_type = "application/fhir+json"
            body = json.dumps(webhook_issue(item["payload"]), separators=(",", ":")).encode()
        else:
            content_type = "application/json"
            body = json.dumps(
                {**item["payload"], "delivery_id": item["id"]}, separators=(",", ":")
            ).encode()
        headers = {
            "Content-Type": content_type,
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
    """Two background loops, each with its own connection: the alert clock (escalate, wake
    snoozed alerts) and webhook delivery, so slow receivers never delay an escalation.

    Each is a :class:`~vigil.core.worker.Worker`: errors are logged with context and counted
    (``errors``), the connection dropped and opened again, and the loop keeps going.
    """

    def __init__(
        self,
        *,
        database_url: str,
        tick: Callable[[repo.Conn], object],
        dispatcher: WebhookDispatcher,
        interval_s: float = 0.5,
    ) -> None:
        self.tick = tick
        self.dispatcher = dispatcher
        self.clock = _ConnectionLoop("alerts-clock", database_url, self._clock, interval_s)
        self.webhooks = _ConnectionLoop("alerts-webhooks", database_url, self._deliver, interval_s)
        self.loops = [self.clock, self.webhooks]

    @property
    def errors(self) -> int:
        return sum(loop.errors for loop in self.loops)

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        for loop in self.loops:
            loop.stop(timeout)
        self.dispatcher.close()

    def _clock(self, conn: psycopg.Connection[Any]) -> None:
        self.tick(conn)

    def _deliver(self, conn: psycopg.Connection[Any]) -> None:
        while self.dispatcher.dispatch_due(conn) and not self.webhooks.stopping:
            pass


class _ConnectionLoop(Worker):
    """``step(conn)`` every ``interval_s`` on a connection of its own (autocommit)."""

    def __init__(
        self,
        name: str,
        database_url: str,
        step: Callable[[psycopg.Connection[Any]], None],
        interval_s: float,
    ) -> None:
        super().__init__(name, backoff=Backoff(max_s=5.0), interval_s=interval_s)
        self._step = step
        self._db = LoopConnection(database_url, purpose=name, autocommit=True)

    def step(self) -> None:
        self._step(self._db.get())

    def after_error(self) -> None:
        self._db.drop()

    def close(self) -> None:
        self._db.drop()
