"""A request's commit, before its response: a client told "done" finds the change there.

Every request's transaction is committed by :func:`commit` when its endpoint returns and before
the response is sent (``vigil.api.deps.get_conn``, a dependency of ``scope="function"``; device
changes also call it themselves, before the broker is told). A commit that fails answers an
error in the API's JSON shape, never the 2xx the endpoint had prepared:

- the database refused the commit (a deferred constraint, a serialisation failure): nothing
  was stored, 500 ``commit_failed`` (a read too: its audit row was not stored, so its data is
  not handed out);
- the connection was lost during the commit: the outcome is unknown (the database may have
  committed just before it went), 503 ``commit_unconfirmed``; a client reads the change back
  before trying it again.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from vigil.api.errors import ApiError

log = logging.getLogger(__name__)


class CommitFailed(ApiError):
    status = 500
    code = "commit_failed"

    def __init__(self) -> None:
        super().__init__("the request could not be committed: nothing of it was stored")


class CommitUnconfirmed(ApiError):
    status = 503
    code = "commit_unconfirmed"

    def __init__(self) -> None:
        super().__init__(
            "the database connection was lost while committing: the change may or may not"
            " have been stored; read it back before trying again"
        )


def commit(conn: psycopg.Connection[Any], *, action: str = "") -> None:
    """Commit ``conn``'s transaction, or raise the :class:`ApiError` that says why not."""
    try:
        conn.commit()
    except psycopg.Error as exc:
        sqlstate = getattr(exc, "sqlstate", None)
        if conn.broken:
            log.error("commit unconfirmed (connection lost): action=%s error=%r", action, exc)
            raise CommitUnconfirmed() from exc
        log.error("commit failed: action=%s sqlstate=%s error=%r", action, sqlstate, exc)
        raise CommitFailed() from exc
