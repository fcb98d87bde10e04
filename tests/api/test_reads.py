"""The live reads: the read cache's rules, and that caching never skips authorisation or audit
and never hides a change made through the API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine, Hashable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tests.storing import store_as_ingest
from vigil.alerts import AlertService
from vigil.api import repo as api_repo
from vigil.api.reads import ReadCache
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.servers import EmbeddedPostgres
from vigil.settings import Settings
from vigil.storage import admin

from ..alerts.conftest import finding
from .conftest import LiveServer, World, make_app


class Source:
    """A compute function that counts its calls and returns a new body each time."""

    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self.fail = fail

    async def __call__(self) -> bytes:
        self.calls += 1
        n = self.calls
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError(f"query {n} failed")
        return f"body {n}".encode()


async def get(cache: ReadCache, key: Hashable, compute: Source, **kw: Any) -> bytes:
    return (await cache.get(key, compute, **kw)).raw


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_concurrent_misses_share_one_query() -> None:
    async def scenario() -> None:
        cache, source = ReadCache(ttl_s=10), Source(delay_s=0.05)
        bodies = await asyncio.gather(*(get(cache, "k", source) for _ in range(20)))
        assert source.calls == 1
        assert set(bodies) == {b"body 1"}
        assert await get(cache, "k", source) == b"body 1"
        assert (cache.misses, cache.hits) == (1, 20)

    run(scenario)


def test_a_drop_is_not_answered_by_an_older_query() -> None:
    async def scenario() -> None:
        cache, source = ReadCache(ttl_s=10), Source(delay_s=0.05)
        assert await get(cache, "k", source) == b"body 1"
        cache.drop_all()
        assert await get(cache, "k", source) == b"body 2"
        # A query in flight when a change lands cannot answer those who ask after it.
        first = asyncio.create_task(get(cache, "j", source))
        await asyncio.sleep(0.01)
        cache.drop_all()
        second = await get(cache, "j", source)
        assert await first == b"body 3"
        assert second == b"body 4"
        assert await get(cache, "j", source) == b"body 4"

    run(scenario)


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_never_served_past_its_ttl() -> None:
    async def scenario() -> None:
        clock = Clock()
        cache, source = ReadCache(ttl_s=10, clock=clock), Source()
        assert await get(cache, "k", source) == b"body 1"
        clock.now += 10
        assert await get(cache, "k", source) == b"body 2"
        assert source.calls == 2

    run(scenario)


def test_a_busy_key_is_refreshed_in_the_background_before_it_expires() -> None:
    async def scenario() -> None:
        clock = Clock()
        cache, source = ReadCache(ttl_s=10, clock=clock), Source(delay_s=0.02)
        assert await get(cache, "k", source) == b"body 1"
        clock.now += 6.9  # before 70 % of the life: a plain hit
        assert await get(cache, "k", source) == b"body 1"
        await cache.settled()
        assert source.calls == 1
        clock.now += 2.2  # past 90 % of the life: the hit answers at once ...
        assert await get(cache, "k", source) == b"body 1"
        await cache.settled()  # ... and the refresh it started has replaced the entry
        assert await get(cache, "k", source) == b"body 2"
        assert source.calls == 2

    run(scenario)


def test_a_failed_query_reaches_its_callers_and_is_not_cached() -> None:
    async def scenario() -> None:
        cache, source = ReadCache(ttl_s=10), Source(delay_s=0.02, fail=True)
        results = await asyncio.gather(
            *(get(cache, "k", source) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, RuntimeError) for r in results)
        assert source.calls == 1
        source.fail = False
        assert await get(cache, "k", source) == b"body 2"

    run(scenario)


def test_each_change_drops_only_what_it_touches() -> None:
    async def scenario() -> None:
        cache = ReadCache(ttl_s=10)
        mine, theirs = uuid.uuid4(), uuid.uuid4()
        inbox, chart, other_chart = Source(), Source(), Source()

        async def read() -> list[bytes]:
            return [
                await get(cache, "inbox", inbox),
                await get(cache, ("chart", mine), chart, patient_id=mine),
                await get(cache, ("chart", theirs), other_chart, patient_id=theirs),
            ]

        assert await read() == [b"body 1"] * 3
        cache.drop_lists()  # an alert changed: the lists, not the charts
        assert await read() == [b"body 2", b"body 1", b"body 1"]
        cache.drop_patients([mine])  # new readings of one patient: their charts only
        assert await read() == [b"body 2", b"body 2", b"body 1"]
        cache.drop_all()
        assert await read() == [b"body 3", b"body 3", b"body 2"]

    run(scenario)


def test_ttl_zero_turns_the_cache_off() -> None:
    async def scenario() -> None:
        cache, source = ReadCache(ttl_s=0), Source()
        assert [await get(cache, "k", source) for _ in range(3)] == [
            b"body 1",
            b"body 2",
            b"body 3",
        ]
        assert await get(cache, "k", source, ttl_s=10) == b"body 4"
        assert await get(cache, "k", source, ttl_s=10) == b"body 4"

    run(scenario)


# -- through the API, with a long cache life: only invalidation can make a change visible ----


@pytest.fixture
def long_cache_url(world: World) -> Iterator[str]:
    settings = Settings(database_url=world.db_url, api_read_cache_s=60, api_chart_cache_s=60)
    with LiveServer(make_app(world.db_url, settings=settings)) as url:
        yield url


def _open_alert(world: World, *, value: float) -> uuid.UUID:
    """An alert opened the way the pipeline opens one: committed with a NOTIFY, not through
    this API."""
    with psycopg.connect(world.db_url) as conn:
        changes = AlertService().apply(conn, [finding(world.a.patient, value=value)])
        conn.commit()
    return changes[0].alert_id


def _inbox(url: str, world: World) -> list[dict[str, object]]:
    r = httpx.get(f"{url}/api/v1/alerts", headers=world.headers("clinician"), timeout=10)
    assert r.status_code == 200, r.text
    body: list[dict[str, object]] = r.json()
    return body


def test_a_change_through_the_api_shows_in_the_next_read(long_cache_url: str, world: World) -> None:
    alert_id = _open_alert(world, value=86)
    inbox = _inbox(long_cache_url, world)
    assert [(a["id"], a["state"]) for a in inbox] == [(str(alert_id), "open")]
    r = httpx.post(
        f"{long_cache_url}/api/v1/alerts/{alert_id}/acknowledge",
        json={"note": "calling the patient"},
        headers=world.headers("clinician"),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert [(a["id"], a["state"]) for a in _inbox(long_cache_url, world)] == [
        (str(alert_id), "acknowledged")
    ]


def test_an_alert_changed_elsewhere_shows_without_waiting_for_the_cache(
    long_cache_url: str, world: World
) -> None:
    assert _inbox(long_cache_url, world) == []
    alert_id = _open_alert(world, value=86)
    for _ in range(100):  # the notification arrives within milliseconds; the cache lives 60 s
        inbox = _inbox(long_cache_url, world)
        if inbox:
            break
        time.sleep(0.05)
    assert [a["id"] for a in inbox] == [str(alert_id)]


def test_new_readings_show_in_the_chart_without_waiting_for_the_cache(
    long_cache_url: str, world: World
) -> None:
    path = f"/api/v1/patients/{world.a.patient}/readings/rollup?metric=spo2&bucket=1d"
    headers = world.headers("clinician")

    def stored() -> int:
        r = httpx.get(f"{long_cache_url}{path}", headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        return sum(int(b["count"]) for b in r.json()["buckets"])

    assert stored() == 0
    with psycopg.connect(world.db_url) as conn:
        now = datetime.now(UTC)
        rows = [
            StoredReading(
                now - timedelta(minutes=m), world.a.patient, Metric.SPO2, 93.0, "oxi-test", now
            )
            for m in (1, 2, 3)
        ]
        store_as_ingest(conn, rows)  # what ingest does, NOTIFY included
        conn.commit()
    for _ in range(100):  # the notification arrives within milliseconds; the cache lives 60 s
        if stored() == 3:
            break
        time.sleep(0.05)
    assert stored() == 3


def test_every_cached_read_is_authorised_and_audited(long_cache_url: str, world: World) -> None:
    paths = {
        "rollup": f"/api/v1/patients/{world.a.patient}/readings/rollup?metric=spo2",
        "vitals": f"/api/v1/care-teams/{world.a.team}/latest-vitals",
    }
    with psycopg.connect(world.db_url, autocommit=True) as conn:
        before = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    with httpx.Client(base_url=long_cache_url, timeout=10) as client:
        for _ in range(5):  # the first fills the cache, the others are served from it
            for path in paths.values():
                assert client.get(path, headers=world.headers("clinician")).status_code == 200
        # Cached bodies are never handed to someone the database has not just authorised.
        for who in ("outsider", "patient"):
            for path in paths.values():
                assert client.get(path, headers=world.headers(who)).status_code in (403, 404)
        other_tenant = client.get(paths["rollup"], headers=world.headers("admin", "b"))
        assert other_tenant.status_code == 404
        assert other_tenant.json()["error"]["code"] == "not_found"
    with psycopg.connect(world.db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT actor_user_id, outcome, patient_id, path FROM audit_log WHERE id > %s",
            (before[0] if before else 0,),
        ).fetchall()
    allowed = [r for r in rows if r[1] == "allowed"]
    denied = [r for r in rows if r[1] == "denied"]
    assert len(allowed) == 10
    assert sum(1 for r in allowed if r[2] == world.a.patient) == 5
    assert len(denied) == 5
    assert {r[0] for r in denied} == {
        world.a.users["outsider"],
        world.a.users["patient"],
        world.b.users["admin"],
    }


def test_the_cache_keeps_to_its_memory_budget() -> None:
    async def scenario() -> None:
        cache = ReadCache(ttl_s=10, max_bytes=20)
        for n in range(10):
            await get(cache, n, Source())  # 6 bytes each: three fit
        assert cache.bytes == 18
        assert await get(cache, 9, Source()) == b"body 1"  # the newest is kept
        assert cache.misses == 10
        assert await get(cache, 0, Source()) == b"body 1"  # the oldest was evicted: filled again
        assert cache.misses == 11

    run(scenario)


def test_cached_bodies_are_sent_gzipped_to_clients_that_accept_it(
    long_cache_url: str, world: World
) -> None:
    with world.conn() as conn:  # a team list worth compressing
        for n in range(20):
            patient = admin.create_patient(
                conn, tenant_id=world.a.id, display_name=f"Patient {n}", conditions=["copd"]
            )
            api_repo.add_team_patient(
                conn, team_id=world.a.team, patient_id=patient, tenant_id=world.a.id
            )
    path = f"{long_cache_url}/api/v1/care-teams/{world.a.team}/latest-vitals"
    headers = world.headers("clinician")
    plain = httpx.get(path, headers={**headers, "Accept-Encoding": "identity"}, timeout=10)
    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert len(plain.content) >= 1024, "too small to test compression: add patients"
    packed = httpx.get(path, headers={**headers, "Accept-Encoding": "gzip"}, timeout=10)
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert packed.json() == plain.json()  # httpx decodes it


def test_a_database_outage_is_a_503_not_a_hang_or_a_500(
    pg_server: EmbeddedPostgres, world: World
) -> None:
    with LiveServer(make_app(world.db_url)) as url, httpx.Client(base_url=url) as client:
        headers = world.headers("clinician")
        assert client.get("/api/v1/alerts", headers=headers).status_code == 200
        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            name = world.db_url.rsplit("/", 1)[1]
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        for path in (
            "/api/v1/alerts?state=open",
            f"/api/v1/care-teams/{world.a.team}/latest-vitals",
        ):
            started = time.monotonic()
            r = client.get(path, headers=headers, timeout=30)
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "unavailable"
            assert r.headers["Retry-After"] == "5"
            assert time.monotonic() - started < 10
