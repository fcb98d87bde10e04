"""Every loop and pool names its connections on the database, so an operator reading
``pg_stat_activity`` can tell ingest, each detect worker, the alert loops and the API's pools
apart. Real PostgreSQL."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from vigil.api.reads import api_role_pool
from vigil.storage import LoopConnection, application_name, create_pool

pytestmark = pytest.mark.integration


def _names(db_url: str) -> set[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT application_name FROM pg_stat_activity").fetchall()
    return {str(r[0]) for r in rows}


def test_a_loop_connection_and_a_pool_are_named_by_purpose(db_url: str) -> None:
    loop = LoopConnection(db_url, purpose="detect-1-of-2")
    pool = create_pool(db_url, min_size=1, max_size=1)
    pool.open(wait=True, timeout=30)
    try:
        conn = loop.get()
        assert conn.execute("SHOW application_name").fetchone() == ("vigil detect-1-of-2",)
        with pool.connection() as pooled:
            assert pooled.execute("SHOW application_name").fetchone() == ("vigil api requests",)
        assert {"vigil detect-1-of-2", "vigil api requests"} <= _names(db_url)
    finally:
        loop.drop()
        pool.close()
    assert "vigil detect-1-of-2" not in _names(db_url)


def test_the_api_event_loop_pools_are_named_too(db_url: str) -> None:
    async def name() -> object:
        pool = api_role_pool(db_url, max_size=1, name="vigil-live-reads")
        await pool.open(wait=True, timeout=30)
        try:
            async with pool.connection() as conn:
                cur = await conn.execute("SHOW application_name")
                return await cur.fetchone()
        finally:
            await pool.close()

    assert asyncio.run(name()) == ("vigil api live-reads",)


def test_a_name_is_cut_to_what_postgresql_keeps() -> None:
    assert application_name("x" * 100) == ("vigil " + "x" * 100)[:63]
