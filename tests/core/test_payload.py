from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.core import Metric, device_from_topic, parse_payload, topic_for
from vigil.core.payload import ParsedPayload

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent.parent / "ingest" / "malformed_corpus.jsonl")
    .read_text()
    .splitlines()
]


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 300


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


@given(st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_parser_never_raises_on_random_bytes(raw: bytes) -> None:
    parsed = parse_payload(raw, device_id="dev-1", received_at=NOW)
    assert parsed.readings or parsed.rejections


@given(st.lists(reading_like, min_size=1, max_size=5))
def test_parser_never_raises_on_reading_shaped_input(items: list[dict[str, Any]]) -> None:
    raw = json.dumps({"readings": items}, default=str).encode()
    parsed = parse_payload(raw, device_id="dev-1", received_at=NOW)
    assert len(parsed.rejections) + len(parsed.readings) >= 1
    for reading in parsed.readings:
        assert reading.time.tzinfo is not None


def _one(**reading: Any) -> bytes:
    return json.dumps({"readings": [{"ts": "2026-11-28T07:00:00Z", **reading}]}).encode()


@pytest.mark.parametrize(
    ("mark", "value", "side"), [("LOW", 40.0, "below"), ("high", 400.0, "above")]
)
def test_cgm_out_of_range_marks_are_stored_censored_at_the_bound(
    mark: str, value: float, side: str
) -> None:
    parsed = parse_payload(
        _one(metric="glucose", value=mark, unit="mg/dL"), device_id="cgm-1", received_at=NOW
    )
    assert parsed.rejections == []
    [reading] = parsed.readings
    assert (reading.value, reading.censored) == (value, side)


@pytest.mark.parametrize(
    ("unit", "value"), [("mg/dl", 110.0), ("MMOL/L", 99.09), ("mmol/l", 99.09)]
)
def test_units_match_case_insensitively(unit: str, value: float) -> None:
    raw_value = 110 if "mg" in unit.lower() else 5.5
    parsed = parse_payload(
        _one(metric="glucose", value=raw_value, unit=unit), device_id="g-1", received_at=NOW
    )
    assert parsed.rejections == []
    assert parsed.readings[0].value == pytest.approx(value)


@pytest.mark.parametrize(("value", "unit"), [(13, "mg/dL"), (30, "mmol/L")])
def test_glucose_unit_mix_ups_are_rejected_with_the_reason(value: float, unit: str) -> None:
    parsed = parse_payload(
        _one(metric="glucose", value=value, unit=unit), device_id="g-1", received_at=NOW
    )
    assert parsed.readings == []
    assert "probable unit mix-up" in parsed.rejections[0].reason


# -- properties ---------------------------------------------------------------------------------

SINGLE_UNITS = {"heart_rate": "/min", "spo2": "%", "glucose": "mg/dL", "body_weight": "kg"}


@given(
    st.sampled_from(sorted(SINGLE_UNITS)),
    st.one_of(
        st.booleans(), st.text(max_size=12).filter(lambda s: s.upper() not in ("LOW", "HIGH"))
    ),
)
def test_strings_and_booleans_are_never_numbers(metric: str, value: object) -> None:
    parsed = parse_payload(
        _one(metric=metric, value=value, unit=SINGLE_UNITS[metric]),
        device_id="d-1",
        received_at=NOW,
    )
    assert parsed.readings == []
    assert "not a number" in parsed.rejections[0].reason


@given(
    st.one_of(
        st.integers(min_value=-(10**19), max_value=10**19),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
    )
)
def test_a_timestamp_that_is_not_a_string_is_refused(ts: object) -> None:
    raw = json.dumps({"readings": [{"ts": ts, "metric": "spo2", "value": 95, "unit": "%"}]})
    parsed = parse_payload(raw.encode(), device_id="d-1", received_at=NOW)
    assert parsed.readings == []
    assert "wrong schema: ts" in parsed.rejections[0].reason


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001 (hypothesis takes naive bounds)
        max_value=datetime(2026, 11, 28),  # noqa: DTZ001
        timezones=st.timezones(),
    ),
    st.booleans(),
)
def test_any_rfc3339_time_with_an_offset_is_read_as_that_instant(ts: datetime, as_z: bool) -> None:
    text = ts.astimezone(UTC).isoformat().replace("+00:00", "Z") if as_z else ts.isoformat()
    parsed = parse_payload(
        _one(metric="spo2", value=95, unit="%").replace(b"2026-11-28T07:00:00Z", text.encode()),
        device_id="d-1",
        received_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    assert parsed.rejections == [], text
    assert parsed.readings[0].time == ts.astimezone(UTC)


@given(
    st.from_regex(r"-?[1-9][0-9]{20,6000}", fullmatch=True),
    st.sampled_from(["value", "systolic", "item", "top"]),
)
def test_huge_numbers_are_rejected_with_a_reason(digits: str, where: str) -> None:
    """Never an exception (a 5,001-digit integer used to make json raise), always the reason."""
    item = '{"ts": "2026-11-28T07:00:00Z", "metric": "spo2", "value": 95, "unit": "%"}'
    if where == "value":
        item = item.replace("95", digits)
    elif where == "systolic":
        item = item.replace('"unit"', f'"systolic": {digits}, "unit"')
    elif where == "item":
        item = digits
    top = f', "n": {digits}' if where == "top" else ""
    raw = f'{{"readings": [{item}]{top}}}'
    parsed = parse_payload(raw.encode(), device_id="d-1", received_at=NOW)
    assert parsed.readings == []
    assert "digits is too large" in parsed.rejections[0].reason


@given(
    st.sampled_from(
        [
            ("glucose", "mg/dL"),
            ("glucose", "mmol/L"),
            ("body_weight", "[lb_av]"),
            ("body_temperature", "[degF]"),
            ("bp", "mm[Hg]"),
        ]
    ),
    st.randoms(),
)
def test_a_unit_in_any_case_reads_as_the_unit(pair: tuple[str, str], rnd: Any) -> None:
    metric, unit = pair
    mixed = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in unit)
    values = {
        "glucose": 100 if unit == "mg/dL" else 5.5,
        "body_weight": 170,
        "body_temperature": 98.6,
    }
    if metric == "bp":
        item = {"metric": "blood_pressure", "systolic": 130, "diastolic": 80}
    else:
        item = {"metric": metric, "value": values[metric]}
    exact = parse_payload(_one(**item, unit=unit), device_id="d-1", received_at=NOW)
    folded = parse_payload(_one(**item, unit=mixed), device_id="d-1", received_at=NOW)
    assert folded.rejections == [], mixed
    assert [r.value for r in folded.readings] == [r.value for r in exact.readings]


@given(st.floats(min_value=1.1, max_value=19.99))
def test_glucose_that_reads_as_mmol_is_never_stored_as_mg_dl(value: float) -> None:
    parsed = parse_payload(
        _one(metric="glucose", value=value, unit="mg/dL"), device_id="g-1", received_at=NOW
    )
    assert parsed.readings == []
    assert "probable unit mix-up" in parsed.rejections[0].reason


def _pump_reading(metric: str, value: object, unit: str) -> ParsedPayload:
    """One reading from a pump, parsed as ingest parses it."""
    reading = {"ts": "2026-11-28T07:00:00Z", "metric": metric, "value": value, "unit": unit}
    raw = json.dumps({"readings": [reading]}).encode()
    return parse_payload(raw, device_id="pump-1", received_at=datetime(2026, 11, 28, 8, tzinfo=UTC))


@pytest.mark.parametrize(
    ("metric", "value", "unit", "stored"),
    [("insulin", 4.25, "U", 4.25), ("insulin", 0.05, "[iU]", 0.05), ("carbs", 0, "g", 0.0)],
)
def test_a_pump_s_bolus_and_carbohydrate_are_readings(
    metric: str, value: float, unit: str, stored: float
) -> None:
    parsed = _pump_reading(metric, value, unit)
    assert parsed.rejections == []
    assert [(r.metric, r.value) for r in parsed.readings] == [(Metric(metric), stored)]


@pytest.mark.parametrize(
    ("metric", "value", "unit", "reason"),
    [
        ("insulin", -1, "U", "outside the physiologically possible range 0.05-100"),
        ("insulin", 0.01, "U", "outside the physiologically possible range 0.05-100"),
        ("insulin", 250, "U", "outside the physiologically possible range 0.05-100"),
        ("insulin", "4", "U", "is a string, not a number"),
        ("insulin", True, "U", "is a boolean, not a number"),
        ("insulin", 4, "mg", "is not accepted for insulin"),
        ("insulin", "LOW", "U", "accepted only for glucose"),
        ("carbs", -10, "g", "outside the physiologically possible range 0-500"),
        ("carbs", 5000, "g", "outside the physiologically possible range 0-500"),
        ("carbs", "60", "g", "is a string, not a number"),
        ("carbs", 60, "kg", "is not accepted for carbs"),
    ],
)
def test_pump_abuse_is_rejected_with_its_reason(
    metric: str, value: object, unit: str, reason: str
) -> None:
    parsed = _pump_reading(metric, value, unit)
    assert parsed.readings == []
    assert len(parsed.rejections) == 1
    assert reason in parsed.rejections[0].reason


# The fast path (ingest's usual shape, read without a model) against the model it stands for.
usual_shape = st.fixed_dictionaries(
    {
        "ts": st.one_of(
            st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
            st.datetimes().map(lambda t: t.isoformat()),
            st.sampled_from(
                [
                    "2026-11-28T07:00:00Z",
                    "2026-11-28t07:00:00z",
                    "2026-11-28 07:00:00+09:00",
                    "2026-02-30T07:00:00Z",
                    "2026-11-28T25:00:00Z",
                    "2026-11-28",
                    "1764313200",
                ]
            ),
            st.text(max_size=30),
            json_values,
        ),
        "metric": st.one_of(st.sampled_from([m.value for m in Metric]), json_values),
        "value": st.one_of(
            st.integers(), st.floats(), st.booleans(), st.sampled_from(["LOW", "high", "93"])
        ),
        "unit": st.one_of(st.sampled_from(["%", "mg/dL", "mmol/L", "lb"]), json_values),
    },
    optional={"systolic": json_values, "extra": json_values},
)


@given(usual_shape)
def test_the_fast_path_reads_what_the_model_reads(item: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from vigil.core.payload import ReadingIn, fast_reading

    fast = fast_reading(item)
    try:
        model = ReadingIn.model_validate(item)
    except ValidationError:
        assert fast is None  # what the model refuses, the fast path leaves to it
        return
    if fast is not None:
        assert (fast.ts, fast.metric, fast.unit, fast.value) == (
            model.ts,
            model.metric,
            model.unit,
            model.value,
        )
        assert fast.ts.tzinfo is not None
        assert (model.systolic, model.diastolic, model.pulse) == (None, None, None)


@given(st.lists(usual_shape, min_size=1, max_size=4), st.booleans())
def test_decoding_once_gives_the_same_outcome(items: list[dict[str, Any]], long: bool) -> None:
    """The whole parse, fast paths on, against the model-only reading of the same payload."""
    from vigil.core import payload as p

    if long:
        items = [*items, {"ts": "2026-11-28T07:00:00Z", "metric": "spo2", "value": 10**25}]
    raw = json.dumps({"readings": items}, default=str).encode()
    fast = parse_payload(raw, device_id="dev-1", received_at=NOW)
    original = (p.fast_reading, p._fast_payload, p._LONG_NUMBER)
    try:
        p.fast_reading = lambda doc: None  # type: ignore[assignment]
        p._fast_payload = lambda doc: None  # type: ignore[assignment]
        p._LONG_NUMBER = __import__("re").compile(rb"")  # every payload through the hooks
        slow = parse_payload(raw, device_id="dev-1", received_at=NOW)
    finally:
        p.fast_reading, p._fast_payload, p._LONG_NUMBER = original
    assert fast.readings == slow.readings
    assert fast.rejections == slow.rejections
