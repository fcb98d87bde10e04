"""The live reads' short way (vigil.api.shortcut): the long way's answer and audit row, for a
caller the database has just authorised, and never for anyone else."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from vigil.api.state import state_of
from vigil.settings import Settings

from .conftest import LiveServer, World, make_app


@pytest.fixture
def served(world: World) -> Iterator[tuple[str, Any]]:
    settings = Settings(database_url=world.db_url, api_read_cache_s=60, api_chart_cache_s=60)
    app = make_app(world.db_url, settings=settings)
    with LiveServer(app) as url:
        yield url, app


def _audit_since(world: World, since: int) -> list[tuple[Any, ...]]:
    with psycopg.connect(world.db_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT actor_user_id, outcome, patient_id, path, status FROM audit_log"
            " WHERE id > %s ORDER BY id",
            (since,),
        ).fetchall()


def _last_audit_id(world: World) -> int:
    with psycopg.connect(world.db_url, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    assert row is not None
    return int(row[0])


def _paths(world: World) -> list[str]:
    return [
        "/api/v1/alerts?limit=50",
        f"/api/v1/patients/{world.a.patient}/readings/rollup?metric=spo2&bucket=1h",
        f"/api/v1/care-teams/{world.a.team}/latest-vitals",
    ]


def test_repeated_reads_take_the_short_way_with_the_same_answer_and_audit(
    served: tuple[str, Any], world: World
) -> None:
    url, app = served
    shortcuts = state_of(app).shortcuts
    before = _last_audit_id(world)
    answers: dict[str, list[httpx.Response]] = {p: [] for p in _paths(world)}
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(10):
            for path in answers:
                for encoding in ("identity", "gzip"):
                    headers = {**world.headers("clinician"), "Accept-Encoding": encoding}
                    answers[path].append(client.get(path, headers=headers))
    assert shortcuts.taken >= 40  # 60 reads; the first two of each shape go the long way
    for path, responses in answers.items():
        assert {r.status_code for r in responses} == {200}, path
        assert all(r.json() == responses[0].json() for r in responses), path
        assert {r.headers["content-type"] for r in responses} == {"application/json"}
        assert {r.headers["vary"] for r in responses} == {"Accept-Encoding"}
        # The edge's headers are on the short way's answers too.
        assert {r.headers["x-content-type-options"] for r in responses} == {"nosniff"}
    rows = _audit_since(world, before)
    assert len(rows) == 60  # one row a read, whichever way it went
    assert {(r[0], r[1], r[4]) for r in rows} == {(world.a.users["clinician"], "allowed", 200)}
    assert sum(1 for r in rows if r[2] == world.a.patient) == 20
    assert {r[3] for r in rows} == {p.split("?")[0] for p in answers}


def test_a_lost_access_is_refused_and_audited_on_the_short_way(
    served: tuple[str, Any], world: World
) -> None:
    url, app = served
    shortcuts = state_of(app).shortcuts
    rollup = _paths(world)[1]
    headers = world.headers("clinician")
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(3):
            assert client.get(rollup, headers=headers).status_code == 200
        taken = shortcuts.taken
        assert taken >= 1
        # Access withdrawn in the database, not through this process: nothing drops the cache.
        with psycopg.connect(world.db_url, autocommit=True) as conn:
            conn.execute(
                "DELETE FROM care_team_patients WHERE team_id = %s AND patient_id = %s",
                (world.a.team, world.a.patient),
            )
        before = _last_audit_id(world)
        refused = [client.get(rollup, headers=headers) for _ in range(3)]
    assert [r.status_code for r in refused] == [404, 404, 404]
    assert {r.json()["error"]["code"] for r in refused} == {"not_found"}
    assert refused[0].json() == refused[1].json()  # the short way answers as the long way
    rows = _audit_since(world, before)
    assert [(r[1], r[2], r[4]) for r in rows] == [("denied", world.a.patient, 404)] * 3
    assert shortcuts.taken == taken


def test_a_signed_out_token_never_takes_the_short_way(
    served: tuple[str, Any], world: World
) -> None:
    url, app = served
    shortcuts = state_of(app).shortcuts
    inbox = _paths(world)[0]
    headers = world.headers("clinician")
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(3):
            assert client.get(inbox, headers=headers).status_code == 200
        taken = shortcuts.taken
        assert taken >= 1
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        before = _last_audit_id(world)
        after = [client.get(inbox, headers=headers) for _ in range(2)]
        # Another caller asking the same URL has a shortcut of their own, never this one's.
        outsider = client.get(inbox, headers=world.headers("outsider"))
    assert [r.status_code for r in after] == [401, 401]
    assert outsider.status_code == 200
    assert outsider.json() == []
    assert shortcuts.taken == taken
    rows = _audit_since(world, before)
    assert [(r[1], r[4]) for r in rows] == [("denied", 401), ("denied", 401), ("allowed", 200)]
    assert rows[2][0] == world.a.users["outsider"]
