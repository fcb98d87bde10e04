"""The inbox and triage in one clinical urgency order (vigil.alerts.urgency): an urgent low
comes before a more severe alert of another cause, a high alert leaves "Stable", and the
reason names the alert with its value."""

from __future__ import annotations

import httpx

from tests.alerts.conftest import finding
from tests.api.conftest import World
from tests.web.test_dashboard_api import enrol, served  # noqa: F401  (the fixture)
from vigil.alerts import AlertService
from vigil.clinical import Severity


def test_inbox_and_triage_share_the_urgency_order(
    served: tuple[World, httpx.Client],  # noqa: F811
) -> None:
    world, client = served
    with world.conn() as conn:
        bp = enrol(conn, world, "Crisis-free BP", ["hypertension"])
        low = enrol(conn, world, "Urgent low", ["t1d"])
        hr = enrol(conn, world, "Slow heart", ["hypertension"])
        service = AlertService()
        service.apply(
            conn,
            [
                finding(
                    bp,
                    cause="bp_above_target",
                    value=170,
                    severity=Severity.CRITICAL,
                    metrics=("bp_systolic",),
                )
            ],
        )
        service.apply(
            conn,
            [
                finding(
                    low,
                    cause="hypoglycemia_urgent",
                    value=40,
                    severity=Severity.HIGH,
                    metrics=("glucose",),
                )
            ],
        )
        service.apply(
            conn,
            [
                finding(
                    hr,
                    cause="bradycardia",
                    value=33,
                    severity=Severity.HIGH,
                    metrics=("heart_rate",),
                )
            ],
        )
    headers = world.headers("clinician")
    inbox = client.get("/api/v1/alerts", headers=headers).json()
    assert [a["patient_id"] for a in inbox][:3] == [str(low), str(bp), str(hr)]
    groups = {g["group"]: g for g in client.get("/api/v1/triage", headers=headers).json()["groups"]}
    first = [p["display_name"] for p in groups["critical"]["patients"]]
    assert first == ["Urgent low", "Crisis-free BP", "Slow heart"]
    assert "Slow heart" not in [p["display_name"] for p in groups["stable"]["patients"]]
    top = groups["critical"]["patients"][0]
    assert top["reasons"] == ["hypoglycemia urgent: glucose 40"]
    assert top["spark_metric"] in (None, "glucose")  # no readings stored: no series to draw
