"""Encode -> decode round trips of every characteristic, with hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from vigil.gateway import decode_glucose, decode_pulse, decode_vitals, encode
from vigil.gateway.characteristics import decode

SEOUL = ZoneInfo("Asia/Seoul")
# A device clock's wall time: a Date Time has no offset, so these are naive on purpose.
local_times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
).map(lambda t: t.replace(microsecond=0))
sfloat_1dp = st.integers(0, 2045).map(lambda m: Decimal(m).scaleb(-1))
optional_times = st.none() | local_times


def utc(local: datetime | None, tz: ZoneInfo = SEOUL) -> datetime | None:
    return None if local is None else local.replace(tzinfo=tz).astimezone(UTC)


@given(
    sfloat_1dp,
    sfloat_1dp,
    st.none() | st.integers(20, 250),
    optional_times,
    st.booleans(),
    st.none() | st.integers(0, 255),
    st.none() | st.integers(0, 0x3F),
)
def test_blood_pressure(
    sys_: Decimal,
    dia: Decimal,
    pulse: int | None,
    ts: datetime | None,
    kpa: bool,
    user: int | None,
    status: int | None,
) -> None:
    raw = encode.blood_pressure(sys_, dia, kpa=kpa, ts=ts, pulse=pulse, user=user, status=status)
    out = decode(decode_vitals.BLOOD_PRESSURE_MEASUREMENT, raw, SEOUL)
    [reading] = out.readings
    assert reading.components["systolic"] == sys_
    assert reading.components["diastolic"] == dia
    assert reading.components.get("pulse") == pulse
    assert reading.unit == ("kPa" if kpa else "mm[Hg]")
    assert (reading.ts and reading.ts.astimezone(UTC)) == utc(ts)
    assert out.details.get("user_id", "absent") == (
        "absent" if user is None else None if user == 255 else user
    )


@given(
    st.integers(0, 0xFFFF),
    local_times,
    st.integers(1, 2045),
    st.booleans(),
    st.none() | st.integers(-1440, 1440),
)
def test_glucose(seq: int, base: datetime, mantissa: int, mol: bool, offset: int | None) -> None:
    concentration = Decimal(mantissa).scaleb(-6 if mol else -5)
    raw = encode.glucose(seq, base, concentration, mol_per_l=mol, offset_min=offset)
    out = decode(decode_glucose.GLUCOSE_MEASUREMENT, raw, SEOUL)
    [reading] = out.readings
    assert out.sequence == seq
    assert reading.value == concentration * (1000 if mol else 100_000)
    assert reading.unit == ("mmol/L" if mol else "mg/dL")
    assert reading.ts == base.replace(tzinfo=SEOUL) + timedelta(minutes=offset or 0)


@given(st.integers(0, 0xFFFF), st.integers(0, 2045), st.none() | st.integers(1, 5))
def test_glucose_context(seq: int, grams: int, meal: int | None) -> None:
    raw = encode.glucose_context(seq, carbs_kg=Decimal(grams).scaleb(-3), meal=meal)
    out = decode(decode_glucose.GLUCOSE_CONTEXT, raw, SEOUL)
    assert out.sequence == seq
    assert [(r.metric, r.value, r.unit) for r in out.readings] == [("carbs", grams, "g")]
    assert ("meal" in out.details) == (meal is not None)


@given(st.integers(0, 0xFFFE), st.booleans(), optional_times, st.none() | st.integers(0, 254))
def test_weight(steps: int, imperial: bool, ts: datetime | None, user: int | None) -> None:
    value = steps * (decode_vitals.WEIGHT_IMPERIAL_LB if imperial else decode_vitals.WEIGHT_SI_KG)
    out = decode(
        decode_vitals.WEIGHT_MEASUREMENT,
        encode.weight(value, imperial=imperial, ts=ts, user=user),
        SEOUL,
    )
    [reading] = out.readings
    assert reading.value == value
    assert reading.unit == ("[lb_av]" if imperial else "kg")
    assert (reading.ts and reading.ts.astimezone(UTC)) == utc(ts)


@given(
    st.integers(-99999, 99999).map(lambda m: Decimal(m).scaleb(-2)),
    st.booleans(),
    optional_times,
    st.none() | st.integers(1, 9),
)
def test_temperature(
    value: Decimal, fahrenheit: bool, ts: datetime | None, kind: int | None
) -> None:
    raw = encode.temperature(value, fahrenheit=fahrenheit, ts=ts, kind=kind)
    out = decode(decode_vitals.TEMPERATURE_MEASUREMENT, raw, SEOUL)
    [reading] = out.readings
    assert reading.value == value
    assert reading.unit == ("[degF]" if fahrenheit else "Cel")
    assert (reading.ts and reading.ts.astimezone(UTC)) == utc(ts)


@given(
    st.integers(0, 0xFFFF),
    st.none() | st.integers(0, 0xFFFF),
    st.lists(st.integers(0, 0xFFFF), max_size=8),
)
def test_heart_rate(rate: int, energy: int | None, rr: list[int]) -> None:
    raw = encode.heart_rate(rate, energy_kj=energy, rr_1024=tuple(rr))
    out = decode(decode_pulse.HEART_RATE_MEASUREMENT, raw, SEOUL)
    assert [r.value for r in out.readings] == [rate]
    assert out.details.get("energy_expended_kj") == energy
    assert [float(ms) for ms in out.details.get("rr_intervals_ms", [])] == [
        v * 1000 / 1024 for v in rr
    ]


@given(sfloat_1dp, sfloat_1dp, optional_times)
def test_plx_spot_check(spo2: Decimal, rate: Decimal, ts: datetime | None) -> None:
    out = decode(decode_pulse.PLX_SPOT_CHECK, encode.plx_spot_check(spo2, rate, ts=ts), SEOUL)
    assert [(r.metric, r.value) for r in out.readings] == [("spo2", spo2), ("heart_rate", rate)]
    assert all((r.ts and r.ts.astimezone(UTC)) == utc(ts) for r in out.readings)


@given(sfloat_1dp, sfloat_1dp)
def test_plx_continuous(spo2: Decimal, rate: Decimal) -> None:
    out = decode(decode_pulse.PLX_CONTINUOUS, encode.plx_continuous(spo2, rate), SEOUL)
    assert [(r.metric, r.value, r.ts) for r in out.readings] == [
        ("spo2", spo2, None),
        ("heart_rate", rate, None),
    ]
