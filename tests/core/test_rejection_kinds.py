"""Each refusal of the payload contract carries its kind as a value, not only as words."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vigil.core import RejectionKind, parse_payload
from vigil.core.payload import MAX_PAYLOAD_BYTES

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def _one(**reading: object) -> bytes:
    return json.dumps({"readings": [{"ts": "2026-11-28T07:00:00Z", **reading}]}).encode()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"{not json", RejectionKind.NOT_JSON),
        (b'{"readings": 3}', RejectionKind.SCHEMA),
        (b'{"readings": []}', RejectionKind.SCHEMA),
        (b" " * (MAX_PAYLOAD_BYTES + 1), RejectionKind.TOO_LARGE),
        (b'{"readings": [{"value": 1' + b"0" * 400 + b"}]}", RejectionKind.TOO_LARGE),
        (json.dumps({"device_id": "dev-2", "readings": [{}]}).encode(), RejectionKind.OTHER),
        (_one(metric="spo2", value=12, unit="%"), RejectionKind.IMPLAUSIBLE),
        (
            _one(metric="blood_pressure", systolic=70, diastolic=90, unit="mm[Hg]"),
            RejectionKind.IMPLAUSIBLE,
        ),
        (_one(metric="spo2", value=97, unit="lb"), RejectionKind.UNIT),
        (_one(metric="glucose", value=6.2, unit="mg/dL"), RejectionKind.UNIT),  # a mix-up
        (_one(metric="mood", value=3, unit="?"), RejectionKind.METRIC),
        (_one(metric="spo2", unit="%"), RejectionKind.SCHEMA),
        (
            json.dumps(
                {
                    "readings": [
                        {"ts": "2030-01-01T00:00:00Z", "metric": "spo2", "value": 97, "unit": "%"}
                    ]
                }
            ).encode(),
            RejectionKind.TIMESTAMP,
        ),
        (
            json.dumps(
                {
                    "readings": [
                        {"ts": "2020-01-01T00:00:00Z", "metric": "spo2", "value": 97, "unit": "%"}
                    ]
                }
            ).encode(),
            RejectionKind.TIMESTAMP,
        ),
    ],
)
def test_each_refusal_says_its_kind(raw: bytes, kind: RejectionKind) -> None:
    parsed = parse_payload(raw, device_id="dev-1", received_at=NOW)
    assert parsed.readings == []
    assert [r.kind for r in parsed.rejections] == [kind], parsed.rejections
    assert all(r.reason for r in parsed.rejections)


def test_kinds_are_the_labels_operators_see() -> None:
    assert RejectionKind.RATE_LIMITED == "rate_limited"
    assert len({k.value for k in RejectionKind}) == len(RejectionKind)
