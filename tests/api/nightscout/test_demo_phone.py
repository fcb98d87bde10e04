"""The demo's phone: its xDrip+ backlog reaches the patient's readings through /ns, once."""

from __future__ import annotations

from tests.api.nightscout.conftest import Site
from tests.waiting import wait_for
from vigil.device_sim.nightscout import XdripUploader


def test_the_phone_uploads_its_backlog_through_the_nightscout_api(site: Site) -> None:
    me = site.mine
    phone = XdripUploader(me.url, me.api_secret, backlog_days=0.5, every_s=3600)
    phone.start()
    try:
        stored = wait_for(
            lambda: len(site.readings(me.patient_id, "glucose")) == 144 and phone.sent,
            "the half-day backlog stored",
        )
    finally:
        phone.stop()
    assert stored == 144
    assert not phone.is_alive()
    assert site.rejected(me.device_id) == []
