"""The stream's codec: the hand-off's text encoding is exactly what ``json.dumps`` gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.stream.codec import decode_readings, encode_readings

PATIENT = UUID("00000000-0000-0000-0000-000000000007")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def reference(readings: list[StoredReading]) -> bytes:
    """The encoding as it was first written: json.dumps of one array per reading."""
    return json.dumps(
        [
            [r.time.isoformat(), r.metric.value, r.value, r.device_id, r.received_at.isoformat()]
            + ([r.censored] if r.censored is not None else [])
            for r in readings
        ],
        separators=(",", ":"),
    ).encode()


readings = st.lists(
    st.builds(
        StoredReading,
        time=st.integers(0, 10**9).map(lambda us: T0 + timedelta(microseconds=us * 997)),
        patient_id=st.just(PATIENT),
        metric=st.sampled_from(list(Metric)),
        value=st.floats(-1e6, 1e6, allow_nan=False, width=32).map(float),
        device_id=st.sampled_from(["ox-1", "cgm_2", "Cuff-3"]),
        received_at=st.sampled_from([T0, T0 + timedelta(seconds=1, microseconds=5)]),
        censored=st.sampled_from([None, "below", "above"]),
    ),
    max_size=30,
)


@given(readings)
def test_encoded_as_json_dumps_would_and_decoded_back(batch: list[StoredReading]) -> None:
    data = encode_readings(batch)
    assert data == reference(batch)
    assert decode_readings(PATIENT, data) == tuple(batch)
