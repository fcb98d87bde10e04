"""The short way for a dashboard's repeated live reads: the same answer, without the framework.

An open dashboard asks the same few URLs over and over with the same token. The first time, a
request goes the long way (routing, FastAPI's dependencies and parameter checks, the
endpoint), and the endpoint notes what it did (:meth:`Shortcuts.note`): the read it had the
access gate decide and record, and the read cache's key of the body it answered. A later
request that is the same in everything the endpoint reads (method, path, query string, the
``Authorization``, ``Cookie`` and ``Accept-Language`` headers) takes the short way when:

- its token is in the token cache for the same caller, still staff (a sign-out, an expiry,
  another process's revocation: as on the long way, which reads the same cache);
- the read cache holds a body for that key that :meth:`ReadCache.get` would answer at once
  (current, and not due for a refresh nobody has started: the long way starts it).

The short way has the access gate decide and record the read exactly as the long way does (the
same audit row) and answers the cached body (gzip-encoded alike). A refusal is answered as the
long way answers it (404, after its audit row). Anything else (a first request, a cache miss, an
unknown token, the gate failing) goes the long way, which decides and answers for itself.
The body is one the cache held when the request arrived: a change finished before it (this
process's writes drop the lists before answering) is in it, as on the long way.

A cached read spent about half its CPU in the framework (``vigil bench api``, py-spy):
docs/api.md has the figures.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.types import ASGIApp, Receive, Scope, Send

from vigil.api.access import Principal
from vigil.api.errors import not_found_json
from vigil.api.reads import AccessGate, ReadCache, ReadCheck
from vigil.api.tokens import TokenCache
from vigil.core.errors import NotFound

log = logging.getLogger(__name__)

_KEY_HEADERS = frozenset((b"authorization", b"cookie", b"accept-language"))
"""The headers a live read's endpoint reads (the caller, the session, the language)."""
RequestKey = tuple[Hashable, ...]


@dataclass(frozen=True, slots=True)
class Shortcut:
    """What the long way did for one request: who asked (by token), the read the gate decided
    and recorded, and the read cache's key of the body it answered."""

    digest: bytes
    principal: Principal
    check: ReadCheck
    key: Hashable
    patient_id: UUID | None


def request_key(scope: Scope) -> tuple[RequestKey, str] | None:
    """The key of a GET by everything a live read's endpoint reads, and its Accept-Encoding
    (which only chooses the encoding); None for any other method."""
    if scope["method"] != "GET":
        return None
    picked: list[tuple[bytes, bytes]] = []
    accept_encoding = b""
    for name, value in scope["headers"]:
        if name in _KEY_HEADERS:
            picked.append((name, value))
        elif name == b"accept-encoding":
            accept_encoding = value
    key = (scope["path"], scope.get("root_path", ""), scope["query_string"], tuple(picked))
    return key, accept_encoding.decode("latin-1")


class Shortcuts:
    """The short ways noted by the live reads' endpoints, the most recent ``size`` of them."""

    def __init__(self, *, size: int = 10_000) -> None:
        self.size = size
        self._ways: OrderedDict[RequestKey, Shortcut] = OrderedDict()
        self.taken = 0

    def note(self, scope: Scope, way: Shortcut) -> None:
        found = request_key(scope)
        if found is None:
            return
        self._ways[found[0]] = way
        self._ways.move_to_end(found[0])
        while len(self._ways) > self.size:
            self._ways.popitem(last=False)

    def get(self, key: RequestKey) -> Shortcut | None:
        return self._ways.get(key)

    def forget(self, key: RequestKey) -> None:
        self._ways.pop(key, None)


class LiveReadShortcut:
    """ASGI middleware: the short way (see the module's docstring), else the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        shortcuts: Shortcuts,
        tokens: TokenCache,
        gate: AccessGate,
        cache: ReadCache,
    ) -> None:
        self.app = app
        self.shortcuts = shortcuts
        self.tokens = tokens
        self.gate = gate
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await self._short_way(scope, receive, send):
            return
        await self.app(scope, receive, send)

    async def _short_way(self, scope: Scope, receive: Receive, send: Send) -> bool:
        found = request_key(scope)
        if found is None:
            return False
        key, accept_encoding = found
        way = self.shortcuts.get(key)
        if way is None:
            return False
        principal = self.tokens.get(way.digest)
        if principal is None or principal != way.principal or not principal.is_staff:
            return False
        body = self.cache.peek(way.key, patient_id=way.patient_id)
        if body is None:
            return False
        try:
            allowed = await self.gate.check(way.check)
        except Exception as exc:  # nothing recorded: the long way decides again and answers
            log.debug("the access gate failed on the short way: %s", exc)
            return False
        if not allowed:
            self.shortcuts.forget(key)
            await not_found_json(NotFound(way.check.refusal))(scope, receive, send)
            return True
        self.shortcuts.taken += 1
        content, gzipped = body.for_client(accept_encoding)
        headers: list[tuple[bytes, bytes]] = [
            (b"content-length", str(len(content)).encode()),
            (b"content-type", b"application/json"),
            (b"vary", b"Accept-Encoding"),
        ]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": content})
        return True
