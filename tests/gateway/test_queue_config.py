"""The disk queue, the Record Access Control Point requests and the config's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigil.gateway.config import load_config
from vigil.gateway.errors import ConfigError
from vigil.gateway.queue import DiskQueue
from vigil.gateway.racp import parse_request, parse_response, report_request

PAYLOAD = {"readings": [{"ts": "2026-11-28T07:00:00Z", "metric": "spo2", "value": 97, "unit": "%"}]}


def test_a_reading_leaves_the_queue_on_acknowledgement_and_is_not_queued_again(
    tmp_path: Path,
) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite3")
    assert queue.enqueue(device_id="d1", key="2A5E::t1", payload=PAYLOAD)
    assert not queue.enqueue(device_id="d1", key="2A5E::t1", payload=PAYLOAD)  # queued already
    assert queue.enqueue(device_id="d2", key="2A5E::t1", payload=PAYLOAD)  # another device's
    [row] = queue.pending("d1", exclude=set(), limit=10)
    assert json.loads(row.payload) == PAYLOAD
    assert queue.pending("d1", exclude={row.id}, limit=10) == []
    queue.acknowledged(row.id)
    assert queue.pending("d1", exclude=set(), limit=10) == []
    # A device sending the same stored record again (at its next connection) adds nothing.
    assert not queue.enqueue(device_id="d1", key="2A5E::t1", payload=PAYLOAD)
    assert queue.counts() == (1, 1)
    queue.close()


def test_the_queue_survives_a_reopen_and_the_glucose_cursor_only_moves_forward(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite3"
    queue = DiskQueue(path)
    queue.enqueue(device_id="m", key="2A18:7:t", payload=PAYLOAD, glucose_sequence=7)
    queue.enqueue(device_id="m", key="2A18:5:t", payload=PAYLOAD, glucose_sequence=5)
    queue.close()
    reopened = DiskQueue(path)
    assert reopened.glucose_cursor("m") == 7
    assert reopened.glucose_cursor("other") is None
    assert len(reopened.pending("m", exclude=set(), limit=10)) == 2
    reopened.close()


def test_record_access_requests() -> None:
    assert report_request(None) == bytes([0x01, 0x01])  # report stored records: all
    # greater than or equal to, filter: sequence number, 0x0108 = 264
    assert report_request(263) == bytes([0x01, 0x03, 0x01, 0x08, 0x01])
    assert parse_request(report_request(263)) == (1, 3, 264)
    assert parse_response(bytes([0x06, 0x00, 0x01, 0x06])) == (1, 6)  # no records found
    assert parse_response(bytes([0x05, 0x00, 0x03, 0x00])) is None  # a record count, not it


DEVICE = {
    "address": "C4:7C:8D:6A:12:34",
    "kind": "blood_pressure",
    "device_id": "cuff-1",
    "password": "secret",
}


def write(tmp_path: Path, doc: dict[str, object], suffix: str = ".json") -> Path:
    path = tmp_path / f"gateway{suffix}"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"mqtt_url": "http://vigil.example.org"}, "mqtt_url must be"),
        ({"devices": []}, "devices"),
        ({"devices": [{**DEVICE, "device_id": "cuff-1/../other"}]}, "device_id"),
        ({"devices": [{**DEVICE, "device_id": "+"}]}, "device_id"),
        ({"devices": [{**DEVICE, "device_id": "#"}]}, "device_id"),
        ({"devices": [{**DEVICE, "kind": "toaster"}]}, "kind"),
        ({"devices": [{**DEVICE, "address": None}]}, "address or its name"),
        ({"devices": [DEVICE, {**DEVICE, "address": "C4:00:00:00:00:01"}]}, "its own Vigil"),
        ({"transport": "simulated"}, "simulate"),
        ({"surprise": 1}, "surprise"),
        ({"timezone": "Mars/Olympus_Mons"}, "is not a time zone"),
        ({"timezone": "../../etc/passwd"}, "is not a time zone"),
    ],
)
def test_a_config_that_cannot_run_is_refused_with_the_reason(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    doc = {"mqtt_url": "mqtts://vigil.example.org:8883", "devices": [DEVICE], **change}
    with pytest.raises(ConfigError, match=r"gateway\.json") as info:
        load_config(write(tmp_path, doc))
    assert reason in str(info.value)


def test_toml_config(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        'mqtt_url = "mqtts://vigil.example.org"\ntimezone = "Asia/Seoul"\n'
        '[[devices]]\nname = "BP7000"\nkind = "blood_pressure"\n'
        'device_id = "cuff-1"\npassword = "secret"\n'
    )
    cfg = load_config(path)
    assert (cfg.mqtt_host, cfg.mqtt_port, cfg.mqtt_tls) == ("vigil.example.org", 8883, True)
    assert cfg.devices[0].label == "BP7000"
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    path.write_text("mqtt_url = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_values_without_a_time_stamp_each_get_their_own_receive_time(tmp_path: Path) -> None:
    """A strap notifies about once a second: two values in one second are two readings."""
    from vigil.gateway import encode
    from vigil.gateway.config import GatewayConfig
    from vigil.gateway.decode_pulse import HEART_RATE_MEASUREMENT
    from vigil.gateway.publisher import Publisher
    from vigil.gateway.service import Receiver

    cfg = GatewayConfig.model_validate(
        {
            "mqtt_url": "mqtt://127.0.0.1:1",
            "queue_path": str(tmp_path / "q.sqlite3"),
            "devices": [{**DEVICE, "kind": "heart_rate"}],
        }
    )
    queue = DiskQueue(cfg.queue_path)
    receiver = Receiver(cfg.devices[0], queue, Publisher(cfg, cfg.devices[0], queue), cfg.zone())
    for rate in (71, 72, 73):
        receiver.on_value(HEART_RATE_MEASUREMENT, encode.heart_rate(rate))
    receiver.on_value(HEART_RATE_MEASUREMENT, b"\x01\x48")  # uint16 flagged, one byte: refused
    rows = queue.pending("cuff-1", exclude=set(), limit=10)
    readings = [json.loads(r.payload)["readings"][0] for r in rows]
    assert [r["value"] for r in readings] == [71, 72, 73]
    assert len({r["ts"] for r in readings}) == 3
    assert (receiver.queued, receiver.refused) == (3, 1)
    queue.close()
    # A queue that cannot be written (here: closed) is logged and counted, never raised into
    # the Bluetooth stack's callback.
    receiver.on_value(HEART_RATE_MEASUREMENT, encode.heart_rate(74))
    assert (receiver.queued, receiver.failed) == (3, 1)
