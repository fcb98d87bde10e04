"""schemathesis against the app's own OpenAPI spec, with valid credentials.

Every operation gets a bounded number of generated requests, once with generated path
parameters and once with real ids (so changes really happen). Checks: no 5xx, status codes,
content types and bodies conform to the spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.alerts.conftest import finding
from tests.api.conftest import LiveServer, World, build_world, make_app
from tests.conftest import new_database
from vigil.alerts import AlertService
from vigil.servers import EmbeddedPostgres

pytestmark = pytest.mark.integration
EXAMPLES = 20
SKIP = {"/api/v1/alerts/stream", "/api/v1/auth/logout"}
"""An endless stream, and the endpoint that would revoke the token under test."""
DEPENDS_ON_DNS = {"/api/v1/webhooks"}
"""Whether a webhook URL may be called depends on what its host resolves to now (and on a
setting for http), which no schema can say: a schema-valid URL refused with 400 is right
there (tests/api/test_webhook_destinations.py); every other check still applies."""
PER_METRIC_BOUNDS = {
    "/api/v1/patients/{patient_id}/care-plan",
    "/api/v1/patients/{patient_id}/care-plan/preview",
}
"""A care plan maps metrics to limits, and each metric has its own physiological bounds (SpO2
40-100 %, heart rate 20-300 /min) and low < high: no JSON schema of a map can say that, so a
schema-valid plan outside them refused with 422 is right there (tests/api/test_care_plan_api.py);
every other check still applies."""
NAMED = {
    "UserCreate",
    "UserUpdate",
    "CareTeamCreate",
    "PatientCreate",
    "PatientUpdate",
    "ServiceAccountCreate",
}
"""Bodies with a person's or a team's name or an e-mail: a name needs a visible character and
holds no control character or bidi override, an e-mail is ASCII once NFKC-normalised
(vigil.api.names), and which characters Unicode draws as nothing is no JSON schema's to say: a
schema-valid name refused with 422 is right there (tests/api/test_names.py); every other check
still applies."""


def _body_model(operation: Any) -> str:
    ref = (
        operation.definition.raw.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref", "")
    )
    return str(ref).rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def live(pg_server: EmbeddedPostgres) -> Iterator[tuple[str, World]]:
    with new_database(pg_server) as url:
        world = build_world(url)
        with LiveServer(make_app(url)) as base:
            yield base, world


def test_the_api_keeps_its_contract(live: tuple[str, World]) -> None:
    base, world = live
    with world.conn() as conn:
        [change] = AlertService().apply(conn, [finding(world.a.patient)])
    real = {
        "patient_id": str(world.a.patient),
        "alert_id": str(change.alert_id),
        "team_id": str(world.a.team),
    }
    spec = httpx.get(f"{base}/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    headers = world.headers("admin")
    failures: list[str] = []
    operations = 0
    bodies: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises here: fine
        if operation.path in SKIP:
            continue
        operations += 1
        bodies.add(_body_model(operation))
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in real.items() if k in names}
        strategies = [operation.as_strategy()]
        if fixed:
            strategies.append(operation.as_strategy(path_parameters=fixed))

        @given(case=st.one_of(*strategies))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            semantic = (
                case.operation.path in DEPENDS_ON_DNS | PER_METRIC_BOUNDS
                or _body_model(case.operation) in NAMED
            )
            excluded = [positive_data_acceptance] if semantic else []
            case.call_and_validate(base_url=base, headers=headers, excluded_checks=excluded)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert operations >= 35
    assert bodies >= NAMED, "every body the names rule exempts is one the API takes"
    assert failures == [], "\n\n".join(failures)
