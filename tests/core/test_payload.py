from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core import Metric, device_from_topic, parse_payload, topic_for

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent.parent / "ingest" / "malformed_corpus.jsonl")
    .read_text()
    .splitlines()
]


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 50


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_each_malformed_payload_is_rejected_with_its_reason(case: dict[str, str]) -> None:
    parsed = parse_payload(
        base64.b64decode(case["payload_b64"]), device_id="dev-1", received_at=NOW
    )
    assert parsed.readings == []
    assert parsed.rejections, "nothing rejected"
    assert case["reason"] in parsed.rejections[0].reason


def test_blood_pressure_becomes_three_readings() -> None:
    raw = json.dumps(
        {
            "readings": [
                {
                    "ts": "2026-11-28T07:00:00+01:00",
                    "metric": "blood_pressure",
                    "systolic": 18.0,
                    "diastolic": 12.0,
                    "pulse": 70,
                    "unit": "kPa",
                }
            ]
        }
    ).encode()
    parsed = parse_payload(raw, device_id="bp-1", received_at=NOW)
    assert parsed.rejections == []
    by_metric = {r.metric: r for r in parsed.readings}
    assert set(by_metric) == {Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC, Metric.HEART_RATE}
    assert by_metric[Metric.BP_SYSTOLIC].value == pytest.approx(135.0, abs=0.1)
    assert by_metric[Metric.BP_SYSTOLIC].time == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def test_valid_readings_survive_bad_neighbours() -> None:
    good = {"ts": "2026-11-28T07:00:00Z", "metric": "spo2", "value": 94, "unit": "%"}
    bad = {"ts": "2026-11-28T07:01:00Z", "metric": "spo2", "value": 140, "unit": "%"}
    parsed = parse_payload(
        json.dumps({"readings": [good, bad, {**good, "ts": "2026-11-28T07:02:00Z"}]}).encode(),
        device_id="ox-1",
        received_at=NOW,
    )
    assert [r.value for r in parsed.readings] == [94, 94]
    assert [r.item for r in parsed.rejections] == [1]


def test_repeats_inside_one_batch_are_absorbed() -> None:
    good = {"ts": "2026-11-28T07:00:00Z", "metric": "spo2", "value": 94, "unit": "%"}
    parsed = parse_payload(
        json.dumps({"readings": [good, good]}).encode(), device_id="ox-1", received_at=NOW
    )
    assert len(parsed.readings) == 1


def test_topic_round_trip() -> None:
    assert device_from_topic(topic_for("abc-1")) == "abc-1"
    assert device_from_topic("vigil/v1/devices/a/b/readings") is None
    assert device_from_topic("other/topic") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
reading_like = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(st.text(max_size=30), st.datetimes().map(str), json_values),
        "metric": st.sampled_from([*(m.value for m in Metric), "blood_pressure", "x"]),
        "value": json_values,
        "systolic": json_values,
        "diastolic": json_values,
        "pulse": json_values,
        "unit": st.sampled_from(["%", "mg/dL", "mmol/L", "lb", "[degF]", "mm[Hg]", "?"]),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_parser_never_raises_on_random_bytes(raw: bytes) -> None:
    parsed = parse_payload(raw, device_id="dev-1", received_at=NOW)
    assert parsed.readings or parsed.rejections


@settings(max_examples=300, deadline=None)
@given(st.lists(reading_like, min_size=1, max_size=5))
def test_parser_never_raises_on_reading_shaped_input(items: list[dict[str, Any]]) -> None:
    raw = json.dumps({"readings": items}, default=str).encode()
    parsed = parse_payload(raw, device_id="dev-1", received_at=NOW)
    assert len(parsed.rejections) + len(parsed.readings) >= 1
    for reading in parsed.readings:
        assert reading.time.tzinfo is not None
