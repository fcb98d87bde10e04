"""What every HTTP request passes first: a cap on the body, security headers on every response,
and internal errors answered as a 500 with a correlation id (logged with the traceback).

One pure ASGI middleware (no ``BaseHTTPMiddleware``: that one costs a task and a stream per
request); its cost on a cached live read is measured in docs/api.md.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'none'"
)
_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
ASSET_PREFIXES = ("/static/", "/web-static/")
"""The pages' own scripts and styles: no patient data, so browsers may keep them."""
_OURS = frozenset(name for name, _ in (*_ALWAYS, _NO_STORE, _HSTS))
_EXTRA = {
    (asset, tls): (*_ALWAYS, *(() if asset else (_NO_STORE,)), *((_HSTS,) if tls else ()))
    for asset in (False, True)
    for tls in (False, True)
}
"""The headers added, by (static asset?, served over TLS?), made once."""


@dataclass(frozen=True, slots=True)
class EdgePolicy:
    max_body_bytes: int = 1_000_000


class Edge:
    def __init__(self, app: ASGIApp, *, policy: EdgePolicy | None = None) -> None:
        self.app = app
        self.policy = policy or EdgePolicy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _EXTRA[scope["path"].startswith(ASSET_PREFIXES), scope.get("scheme") == "https"]
        cap = self.policy.max_body_bytes
        declared = _content_length(scope["headers"])
        if declared is not None and declared > cap:
            # Refused before a byte of the body is read.
            await _send_error(send, extra, 413, "too_large", f"the body exceeds {cap} bytes")
            return
        started = False
        refused = False
        received = 0

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out: whatever the app says after it is dropped
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _merge(message.get("headers", ()), extra)
            await send(message)

        async def counted_receive() -> Message:
            # No length announced (chunked): count, and past the cap answer 413 ourselves and
            # tell the app the client has gone (an exception here would be taken by the
            # body parser for a malformed body).
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap and not started:
                    refused = True
                    await _send_error(
                        send, extra, 413, "too_large", f"the body exceeds {cap} bytes"
                    )
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, counted_receive if declared is None else receive, guarded_send)
        except Exception:
            if refused:
                return
            if started:
                raise
            reference = uuid.uuid4().hex
            log.exception(
                "internal error %s on %s %s",
                reference,
                scope.get("method"),
                scope.get("path"),
                extra={"correlation_id": reference},
            )
            await _send_error(
                send,
                (*extra, (b"x-correlation-id", reference.encode())),
                500,
                "internal",
                f"an internal error; quote {reference} when reporting it",
            )


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _merge(
    headers: Iterable[tuple[bytes, bytes]], extra: tuple[tuple[bytes, bytes], ...]
) -> list[tuple[bytes, bytes]]:
    """The response's headers with ours in place of any it set of the same names (an event
    stream's ``Cache-Control: no-cache`` still lets a copy be kept: ours says no-store)."""
    merged = [h for h in headers if h[0] not in _OURS]
    merged.extend(extra)
    return merged


async def _send_error(
    send: Send, extra: tuple[tuple[bytes, bytes], ...], status: int, code: str, message: str
) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
