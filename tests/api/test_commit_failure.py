"""A change whose commit fails is answered with an error, never a 2xx, and nothing of it (nor
its audit row) is stored.

The commit is made to fail in this test's own database, at the very end of the request: a
``DEFERRABLE INITIALLY DEFERRED`` constraint trigger runs only at COMMIT, after the endpoint
has done its work and prepared its 2xx. One variant raises (the database refuses the commit);
the other kills the request's own backend (the database goes away mid-commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import LiveServer, World, make_app
from vigil.alerts import AlertService

pytestmark = pytest.mark.integration

_REFUSE = """
CREATE OR REPLACE FUNCTION test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused at commit by the test'; END $$
"""
_VANISH = """
CREATE OR REPLACE FUNCTION test_vanish_at_commit() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER AS $$
BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NULL; END $$
"""


@dataclass(frozen=True)
class Change:
    name: str
    table: str
    send: Callable[[httpx.Client, int], httpx.Response]


def _changes(world: World, alert_id: uuid.UUID) -> list[Change]:
    h = world.headers("admin")
    patient = world.a.patient

    def post(url: str, body: Callable[[int], dict[str, Any]]) -> Callable[..., httpx.Response]:
        return lambda c, n: c.post(url, json=body(n), headers=h)

    return [
        Change("enrol", "patients", post("/api/v1/patients", lambda n: {"display_name": f"P{n}"})),
        Change(
            "update patient",
            "patients",
            lambda c, n: c.patch(
                f"/api/v1/patients/{patient}", json={"display_name": f"Renamed {n}"}, headers=h
            ),
        ),
        Change("care team", "care_teams", post("/api/v1/care-teams", lambda n: {"name": f"T{n}"})),
        Change(
            "user",
            "users",
            post(
                "/api/v1/users",
                lambda n: {
                    "email": f"u{n}.{uuid.uuid4().hex[:6]}@clinic.example",
                    "display_name": f"U{n}",
                    "role": "clinician",
                    "password": "a long enough password",
                },
            ),
        ),
        Change(
            "webhook",
            "webhooks",
            post(
                "/api/v1/webhooks",
                lambda n: {"url": f"https://93.184.215.14/{n}", "secret": "s3cret-key"},
            ),
        ),
        Change(
            "care plan",
            "care_plans",
            lambda c, n: c.put(
                f"/api/v1/patients/{patient}/care-plan",
                # Another valid low each time (80-94 %: the plan is checked against the bounds).
                json={"thresholds": {"spo2": {"low": 80 + n % 15}}},
                headers=h,
            ),
        ),
        Change(
            "device",
            "devices",
            post("/api/v1/devices", lambda n: {"kind": "oximeter", "patient_id": str(patient)}),
        ),
        Change(
            "alert comment",
            "alert_events",
            post(f"/api/v1/alerts/{alert_id}/comments", lambda n: {"note": f"note {n}"}),
        ),
    ]


class Database:
    """The test's own database, as its owner: snapshots what a change would leave behind."""

    def __init__(self, world: World) -> None:
        self.conn = world.conn()

    def footprint(self, table: str) -> tuple[Any, ...]:
        # Rows and their content (an update changes no count), and every audit row.
        row = self.conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"  # noqa: S608
            f" FROM {table} t"
        ).fetchone()
        audit = self.conn.execute("SELECT count(*), max(id) FROM audit_log").fetchone()
        assert row is not None
        assert audit is not None
        return (*row, *audit)

    def arm(self, table: str, function: str) -> None:
        self.conn.execute(
            f"CREATE CONSTRAINT TRIGGER test_at_commit AFTER INSERT OR UPDATE ON {table}"
            f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}()"
        )

    def disarm(self, table: str) -> None:
        self.conn.execute(f"DROP TRIGGER test_at_commit ON {table}")


@pytest.fixture
def setup(world: World) -> Iterator[tuple[Database, list[Change]]]:
    db = Database(world)
    db.conn.execute(_REFUSE)
    db.conn.execute(_VANISH)
    [opened] = AlertService().apply(db.conn, [finding(world.a.patient, value=85)])
    yield db, _changes(world, opened.alert_id)
    db.conn.close()


@pytest.mark.parametrize(
    ("function", "status", "code"),
    [
        ("test_refuse_at_commit", 500, "commit_failed"),
        ("test_vanish_at_commit", 503, "commit_unconfirmed"),
    ],
    ids=["refused", "connection-lost"],
)
def test_a_failed_commit_answers_an_error_and_stores_nothing(
    world: World, setup: tuple[Database, list[Change]], function: str, status: int, code: str
) -> None:
    db, changes = setup
    outcomes: dict[str, tuple[int, int]] = {}
    with (
        LiveServer(make_app(world.db_url)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        for n, change in enumerate(changes):
            before = db.footprint(change.table)
            db.arm(change.table, function)
            try:
                failed = change.send(client, n)
            finally:
                db.disarm(change.table)
            after_failure = db.footprint(change.table)
            # The same change, once the database accepts it, is stored: the path works and
            # the footprint would have shown it.
            again = change.send(client, n + 100)
            stored = db.footprint(change.table)
            outcomes[change.name] = (failed.status_code, again.status_code)

            assert failed.status_code == status, (change.name, failed.text)
            assert failed.json()["error"]["code"] == code, change.name
            assert after_failure == before, f"{change.name}: something of it was stored"
            assert again.is_success, (change.name, again.text)
            assert stored != before, f"{change.name}: the accepted change left no trace"
    print(f"failed commits ({code}): {outcomes}")
    assert len(outcomes) == len(changes) == 8


def test_a_read_is_unaffected_by_a_trigger_on_writes(world: World) -> None:
    # Guard for the test above: reads commit too, but write no rows the trigger watches.
    with psycopg.connect(world.db_url, autocommit=True) as conn:
        conn.execute(_REFUSE)
        conn.execute(
            "CREATE CONSTRAINT TRIGGER test_at_commit AFTER INSERT OR UPDATE ON patients"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_at_commit()"
        )
    with (
        LiveServer(make_app(world.db_url)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        r = client.get(f"/api/v1/patients/{world.a.patient}", headers=world.headers("admin"))
    assert r.status_code == 200, r.text
