"""The application's state: one typed object, built once by ``create_app``.

Everything a request needs beyond its own arguments (settings, pools, caches, the alert
service, the broadcaster) is a field of :class:`VigilState`, kept on ``app.state.vigil`` and
read through :func:`state_of` (or ``StateDep`` in an endpoint's signature), so the type checker
sees every use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from vigil.alerts import AlertService
from vigil.api.broadcast import AlertBroadcaster
from vigil.api.reads import AccessGate, ReadCache
from vigil.api.shortcut import Shortcuts
from vigil.api.throttle import SignInThrottle
from vigil.api.tokens import TokenCache
from vigil.settings import Settings

STREAM_RECHECK_S = 10.0


@dataclass(slots=True, kw_only=True)
class VigilState:
    settings: Settings
    request_pool: ConnectionPool[Any]
    """Every request's one transaction (vigil.api.deps.get_conn), the SSE stream's access
    checks, readiness and the metrics scrape: synchronous, used from worker threads."""
    request_slots: asyncio.Semaphore
    """As many as the request pool has connections: a request waits for one in the event
    loop, never holding a worker thread (vigil.api.deps)."""
    live_read_pool: AsyncConnectionPool[Any]
    """The dashboard's live reads (inbox, a team's latest vitals, charts; vigil.api.reads):
    asyncio, autocommit, on the event loop."""
    access_gate_pool: AsyncConnectionPool[Any]
    """The access gate's one connection (its group-committed decisions and audit rows), apart
    from the live reads' so their queries never delay a decision."""
    access_gate: AccessGate
    read_cache: ReadCache
    tokens: TokenCache
    sign_in_throttle: SignInThrottle
    alert_service: AlertService
    broadcaster: AlertBroadcaster
    sync_broker: Callable[[Any], object] | None = None
    """Called with a committed connection after devices change, to rewrite the broker's
    password file."""
    shortcuts: Shortcuts = field(default_factory=Shortcuts)
    """The live reads' short ways, noted by their endpoints (vigil.api.shortcut)."""
    stream_recheck_s: float = STREAM_RECHECK_S
    """How often an open alert stream checks its caller's access again."""


def state_of(app: FastAPI) -> VigilState:
    state = app.state.vigil
    assert isinstance(state, VigilState)
    return state


async def get_state(request: Request) -> VigilState:
    # async: no I/O, so no worker thread for it
    return state_of(request.app)


StateDep = Annotated[VigilState, Depends(get_state)]
