"""The dashboard's live reads: authorised and audited per request, group-committed, cached briefly.

A care team's dashboard asks for the same few things over and over (the alert inbox, the team's
latest vitals, a patient's charts). Two parts keep that cheap without weakening the rules:

- :class:`AccessGate` decides and records every such read in one statement per *batch*: each
  request queues its question (may this user see this patient / this care team?) and waits;
  one flusher writes the audit rows of every waiting request, deciding visibility in the same
  ``INSERT .. SELECT``, commits, and wakes them with their answers. A response is sent only
  after its audit row is committed; a refusal is recorded like any other. While one batch is
  being written the next one fills, so the database sees one round trip for many requests.
- :class:`ReadCache` keeps each response body for a short while (the inbox and team lists 1 s,
  charts 60 s): a cached body is the answer the server would have given at most that long
  ago. The lists are dropped at once when this process changes anything (every write
  request) and when any process changes an alert (the LISTEN/NOTIFY channel the SSE stream
  already uses); a patient's charts, when ingest stores readings of theirs (its own channel).
  Concurrent misses for one key share one query. The gate runs before the cache, so a body
  is only ever handed to a caller the database has just authorised for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from vigil.api.access import API_ROLE, Principal, patient_visible, team_visible
from vigil.storage import application_name

log = logging.getLogger(__name__)

MAX_BATCH = 500
REFRESH_AT = 0.8
"""A hit on an entry past this share of its life starts a background refresh."""
PATIENT_SLOTS = 1 << 16

# The caller's tenant, role and id, from each request row: the access rules are access.py's.
_CALLER = {
    "tenant": sql.Identifier("r", "tenant"),
    "admin": sql.Identifier("r", "admin"),
    "user": sql.Identifier("r", "usr"),
}
_DECIDE_AND_RECORD = sql.SQL("""
WITH req AS (
    SELECT * FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (
        tenant uuid, usr uuid, role text, admin bool, action text, path text,
        patient uuid, team uuid, detail jsonb, refusal text))
    WITH ORDINALITY AS r(tenant, usr, role, admin, action, path, patient, team, detail,
                         refusal, ord)
), decided AS (
    SELECT r.*, CASE
        WHEN r.patient IS NOT NULL THEN EXISTS (
            SELECT 1 FROM patients p WHERE p.id = r.patient
            AND {patient})
        WHEN r.team IS NOT NULL THEN EXISTS (
            SELECT 1 FROM care_teams t WHERE t.id = r.team
            AND {team})
        ELSE true END AS allowed
    FROM req r
), recorded AS (
    INSERT INTO audit_log (tenant_id, actor_user_id, actor_role, action, method, path,
                           patient_id, outcome, status, detail)
    SELECT tenant, usr, role, action, 'GET', path, patient,
           CASE WHEN allowed THEN 'allowed' ELSE 'denied' END,
           CASE WHEN allowed THEN 200 ELSE 404 END,
           CASE WHEN allowed THEN coalesce(detail, '{{}}')
                ELSE jsonb_build_object('reason', refusal) END
    FROM decided
)
SELECT ord, allowed FROM decided
""").format(
    patient=patient_visible("p", **_CALLER),
    team=team_visible("t", **_CALLER),
)
"""One statement per batch: the requests arrive as one JSON array (one parameter to send),
each is decided, and every decision is recorded."""
_DECIDE_AND_RECORD_TEXT = _DECIDE_AND_RECORD.as_string().encode()
"""Rendered once, not at every batch (identifiers need no connection to be quoted)."""


@dataclass(frozen=True, slots=True)
class ReadCheck:
    """One read to decide and record: a patient's data, a care team's, or neither (the
    caller's own scope, e.g. the inbox, whose query filters by visibility itself)."""

    principal: Principal
    action: str
    path: str
    patient_id: UUID | None = None
    team_id: UUID | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    refusal: str = ""
    """The reason recorded (and answered) when the read is refused."""
    row: str = field(init=False, repr=False, compare=False)
    """This read as the gate's statement takes it (a JSON object), made once: a read the
    short way repeats (vigil.api.shortcut) costs no encoding."""

    def __post_init__(self) -> None:
        row = {
            "tenant": str(self.principal.tenant_id),
            "usr": str(self.principal.user_id),
            "role": self.principal.role.value,
            "admin": self.principal.is_admin,
            "action": self.action,
            "path": self.path[:500],
            "patient": str(self.patient_id) if self.patient_id else None,
            "team": str(self.team_id) if self.team_id else None,
            "detail": self.detail,
            "refusal": self.refusal[:300],
        }
        object.__setattr__(self, "row", json.dumps(row, separators=(",", ":")))


async def _as_api_role(conn: psycopg.AsyncConnection[Any]) -> None:
    # The whole session runs as the API's role; reads' audit rows do not wait for the WAL
    # flush (see deps.get_conn: a database crash can lose the last fraction of a second of
    # them, never data).
    await conn.execute(f"SET ROLE {API_ROLE}; SET synchronous_commit = off")


def api_role_pool(conninfo: str, *, max_size: int, name: str) -> AsyncConnectionPool[Any]:
    """A small pool for the event loop (the live reads', the access gate's; opened by the
    app's lifespan): asyncio connections in autocommit, as the API's role, no worker thread."""
    return AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        kwargs={
            "autocommit": True,
            "application_name": application_name(f"api {name.removeprefix('vigil-')}"),
        },
        configure=_as_api_role,
        timeout=5.0,  # then 503: a dashboard should hear the database is away, not hang
        open=False,
        name=name,
    )


class AccessGate:
    """Group-committed authorisation and audit of reads (see the module's docstring)."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool
        self._queue: list[tuple[ReadCheck, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.checks = 0

    async def check(self, item: ReadCheck) -> bool:
        """True if the read is allowed; either way its audit row is committed on return."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="vigil-access-gate")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wake.set()
        return await future

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    allowed = await self._write([c for c, _ in batch])
                except asyncio.CancelledError:
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as exc:  # the database is down: every waiting read fails
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                self.checks += len(batch)
                for (_, future), ok in zip(batch, allowed, strict=True):
                    if not future.done():
                        future.set_result(ok)

    async def _write(self, checks: Sequence[ReadCheck]) -> list[bool]:
        requests = "[" + ",".join(c.row for c in checks) + "]"
        async with self.pool.connection() as conn:
            cursor = await conn.execute(_DECIDE_AND_RECORD_TEXT, (requests,))
            decided = dict(await cursor.fetchall())
        return [bool(decided[i]) for i in range(1, len(checks) + 1)]  # WITH ORDINALITY: from 1


Stamp = tuple[int, int]
GZIP_MIN_BYTES = 1024


class Body:
    """A response body, and its gzip encoding made once, the first time a client accepts it
    (a cached chart of 61 KB is 6 KB gzipped; browsers always accept gzip)."""

    __slots__ = ("_gzipped", "cached", "raw")

    def __init__(self, raw: bytes, *, cached: bool) -> None:
        self.raw = raw
        self.cached = cached
        """From the cache (or going into it): worth compressing once for many requests."""
        self._gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.raw, compresslevel=6, mtime=0)
        return self._gzipped

    def for_client(self, accept_encoding: str) -> tuple[bytes, bool]:
        """What to send a client that sent this ``Accept-Encoding``, and whether it is gzipped
        (a cached body worth compressing, to a client that accepts gzip)."""
        if "gzip" in accept_encoding and self.cached and len(self.raw) >= GZIP_MIN_BYTES:
            return self.gzipped(), True
        return self.raw, False


@dataclass(slots=True)
class _Entry:
    expires: float
    refresh_at: float
    stamp: Stamp
    body: Body


class ReadCache:
    """Response bodies by key, never older than their TTL; a TTL of 0 turns it off.

    An entry's age counts from the start of the query that made it. A hit on an entry past
    70-90 % of its life (spread at random) also starts a background refresh, so a busy key
    is renewed before it expires and its callers never queue behind the query.

    What drops entries at once (thread-safe: each only bumps a counter that entries are
    stamped with; the callers after it wait for a new query, shared by all who ask for the
    same key):

    - :meth:`drop_all`: everything (the notification channel was lost: what it said is gone);
    - :meth:`drop_lists`: the entries not about one patient's readings (the inbox, the team
      lists), after an alert changes anywhere or anything changes through this process's API;
    - :meth:`drop_patients`: the entries about those patients' readings (their charts), when
      ingest stores new ones.
    """

    def __init__(
        self,
        *,
        ttl_s: float,
        max_bytes: int = 64 << 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # max_bytes counts the plain bodies; their gzip copies add about a tenth. ``clock``
        # (seconds, never going back) is there for tests that move time themselves.
        self.ttl_s = ttl_s
        self._clock = clock
        self.max_bytes = max_bytes
        self.bytes = 0
        self.everything = 0
        self.shared = 0
        # A counter per slot of patients, not per patient: fixed memory however many patients
        # send readings; two patients sharing a slot only drop each other's charts early.
        self._patient_slots = [0] * PATIENT_SLOTS
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._pending: dict[Hashable, tuple[Stamp, asyncio.Task[Body]]] = {}

    def drop_all(self) -> None:
        self.everything += 1

    def drop_lists(self) -> None:
        self.shared += 1

    def drop_patients(self, patient_ids: Iterable[UUID]) -> None:
        for patient_id in patient_ids:
            self._patient_slots[hash(patient_id) % PATIENT_SLOTS] += 1

    def _stamp(self, patient_id: UUID | None) -> Stamp:
        if patient_id is None:
            return self.everything, self.shared
        return self.everything, self._patient_slots[hash(patient_id) % PATIENT_SLOTS]

    async def get(
        self,
        key: Hashable,
        compute: Callable[[], Awaitable[bytes]],
        *,
        ttl_s: float | None = None,
        patient_id: UUID | None = None,
    ) -> Body:
        """The cached body for ``key``, or a fresh one from ``await compute()``. ``ttl_s``
        overrides the cache's own for this key; ``patient_id`` says the body is one patient's
        readings (dropped when theirs change, not when alerts do)."""
        ttl = self.ttl_s if ttl_s is None else ttl_s
        if ttl <= 0:
            return Body(await compute(), cached=False)
        now = self._clock()
        stamp = self._stamp(patient_id)
        entry = self._entries.get(key)
        if entry is not None and entry.stamp == stamp and entry.expires > now:
            self.hits += 1
            if now >= entry.refresh_at and key not in self._pending:
                self._fill(key, compute, stamp, ttl)
            return entry.body
        pending = self._pending.get(key)
        if pending is not None and pending[0] == stamp:
            self.hits += 1
            return await asyncio.shield(pending[1])
        self.misses += 1
        return await asyncio.shield(self._fill(key, compute, stamp, ttl))

    def peek(self, key: Hashable, *, patient_id: UUID | None = None) -> Body | None:
        """The body :meth:`get` would answer at once for ``key`` without starting anything: a
        current entry not yet due for a refresh, or due with its refresh already running.
        None otherwise (then :meth:`get` is the way: it starts the query or the refresh)."""
        entry = self._entries.get(key)
        if entry is None or entry.stamp != self._stamp(patient_id):
            return None
        now = self._clock()
        if entry.expires <= now or (now >= entry.refresh_at and key not in self._pending):
            return None
        self.hits += 1
        return entry.body

    async def settled(self) -> None:
        """Return once the queries in flight (background refreshes too) have finished."""
        while self._pending:
            await asyncio.wait([task for _, task in self._pending.values()])

    def _fill(
        self,
        key: Hashable,
        compute: Callable[[], Awaitable[bytes]],
        stamp: Stamp,
        ttl: float,
    ) -> asyncio.Task[Body]:
        async def fill() -> Body:
            started = self._clock()
            try:
                body = Body(await compute(), cached=True)
            finally:
                if self._pending.get(key, (None, None))[1] is task:
                    del self._pending[key]
            # Spread over 70-90 % of the life: keys filled together are not refreshed together.
            refresh_at = started + ttl * random.uniform(REFRESH_AT - 0.1, REFRESH_AT + 0.1)
            old = self._entries.pop(key, None)
            self.bytes += len(body.raw) - (len(old.body.raw) if old is not None else 0)
            self._entries[key] = _Entry(started + ttl, refresh_at, stamp, body)
            while self.bytes > self.max_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)  # the least recently filled
                self.bytes -= len(evicted.body.raw)
            return body

        task = asyncio.create_task(fill(), name="vigil-read-cache-fill")
        task.add_done_callback(_log_failure)
        self._pending[key] = (stamp, task)
        return task


def _log_failure(task: asyncio.Task[Body]) -> None:
    # Retrieved here, so a failed background refresh is logged once; callers that waited
    # for the task get the exception themselves.
    if not task.cancelled() and task.exception() is not None:
        log.warning("a cached read failed: %s", task.exception())
