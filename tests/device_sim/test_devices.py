"""Device behaviour: every message is what ingest expects (or deliberately garbage)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from tests.device_sim.conftest import ts
from vigil.core import parse_payload
from vigil.device_sim import SimOutput, generate


def _at(text: str) -> datetime:
    return datetime.fromtimestamp(ts(text), UTC)


def test_every_intact_message_is_accepted_whole(stress: SimOutput) -> None:
    for line in stress.messages:
        if line["malformed"]:
            continue
        raw = json.dumps(line["payload"]).encode()
        parsed = parse_payload(
            raw, device_id=line["device_id"], received_at=_at(line["publish_at"])
        )
        assert parsed.rejections == [], (line, parsed.rejections)
        assert len(parsed.readings) >= len(line["payload"]["readings"])


def test_every_malformed_message_is_rejected_whole(stress: SimOutput) -> None:
    bad = [m for m in stress.messages if m["malformed"]]
    assert len(bad) >= 20
    assert len({m["malformed_kind"] for m in bad}) >= 5
    assert len({(m["device_id"], m["payload_raw"]) for m in bad}) == len(bad)
    for line in bad:
        parsed = parse_payload(
            line["payload_raw"].encode(),
            device_id=line["device_id"],
            received_at=_at(line["publish_at"]),
        )
        assert parsed.readings == []
        assert parsed.rejections


def test_standard_has_a_small_malformed_rate(standard: SimOutput) -> None:
    bad = sum(1 for m in standard.messages if m["malformed"])
    assert 0 < bad / len(standard.messages) < 0.02


def test_clocks_drift_a_little_and_never_far_into_the_future(stress: SimOutput) -> None:
    ahead = 0
    for line in stress.messages:
        if line["malformed"]:
            continue
        publish = ts(line["publish_at"])
        for item in line["payload"]["readings"]:
            lead = ts(item["ts"]) - publish
            assert lead <= 300
            ahead += lead > 0
    assert ahead > 0  # some devices run fast


def test_devices_repeat_messages_and_upload_backlogs(stress: SimOutput) -> None:
    payloads = Counter(
        (m["device_id"], json.dumps(m["payload"])) for m in stress.messages if not m["malformed"]
    )
    assert any(n > 1 for n in payloads.values())
    late = [
        ts(m["publish_at"]) - ts(m["payload"]["readings"][0]["ts"])
        for m in stress.messages
        if not m["malformed"]
    ]
    assert max(late) > 6 * 3600
    assert max(len(m["payload"]["readings"]) for m in stress.messages if not m["malformed"]) > 20


def test_some_devices_report_in_other_units(standard: SimOutput) -> None:
    units = Counter(
        item["unit"]
        for m in standard.messages
        if not m["malformed"]
        for item in m["payload"]["readings"]
    )
    assert units["mmol/L"] > 0
    assert units["[lb_av]"] + units["lb"] > 0
    assert units["[degF]"] > 0
    assert units["mg/dL"] > units["mmol/L"]


def test_a_device_never_reports_one_metric_twice_at_one_time(stress: SimOutput) -> None:
    seen: dict[tuple[str, str, str], str] = {}
    for m in stress.messages:
        if m["malformed"]:
            continue
        for item in m["payload"]["readings"]:
            key = (m["device_id"], item["metric"], item["ts"])
            text = json.dumps(item, sort_keys=True)
            assert seen.setdefault(key, text) == text  # only exact repeats share a key


def test_the_malformed_rate_is_configurable() -> None:
    none = generate("stress", patients=5, days=3, seed=2, malformed_rate=0.0)
    assert not any(m["malformed"] for m in none.messages)
    many = generate("stress", patients=5, days=3, seed=2, malformed_rate=0.5)
    share = sum(m["malformed"] for m in many.messages) / len(many.messages)
    assert 0.25 < share < 0.4  # one broken copy after about half of the intact messages
