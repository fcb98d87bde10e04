"""Encoders of the characteristic values the gateway decodes: what a simulated device sends
(tests, the demo's cuff) and the other half of the decoders' round-trip tests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from vigil.gateway.decode_vitals import WEIGHT_IMPERIAL_LB, WEIGHT_SI_KG
from vigil.gateway.ieee11073 import encode_float, encode_sfloat

Num = Decimal | int | str


def _u(value: int, n: int) -> bytes:
    return value.to_bytes(n, "little")


def _sf(value: Num) -> bytes:
    return _u(encode_sfloat(value), 2)


def date_time(ts: datetime) -> bytes:
    """A Date Time (the device's local wall-clock fields of ``ts``)."""
    return _u(ts.year, 2) + bytes([ts.month, ts.day, ts.hour, ts.minute, ts.second])


def blood_pressure(
    systolic: Num,
    diastolic: Num,
    *,
    mean: Num | None = None,
    kpa: bool = False,
    ts: datetime | None = None,
    pulse: Num | None = None,
    user: int | None = None,
    status: int | None = None,
) -> bytes:
    flags = (
        (0x01 if kpa else 0)
        | (0x02 if ts else 0)
        | (0x04 if pulse is not None else 0)
        | (0x08 if user is not None else 0)
        | (0x10 if status is not None else 0)
    )
    out = bytes([flags]) + _sf(systolic) + _sf(diastolic)
    out += _sf(mean) if mean is not None else _u(0x07FF, 2)  # MAP unknown: NaN
    out += date_time(ts) if ts else b""
    out += _sf(pulse) if pulse is not None else b""
    out += bytes([user]) if user is not None else b""
    return out + (_u(status, 2) if status is not None else b"")


def glucose(
    sequence: int,
    base_time: datetime,
    concentration: Num,
    *,
    mol_per_l: bool = False,
    offset_min: int | None = None,
    type_location: int = 0x11,
    status: int | None = None,
    context_follows: bool = False,
) -> bytes:
    """``concentration`` in the characteristic's own unit (kg/L, or mol/L)."""
    flags = (
        (0x01 if offset_min is not None else 0)
        | 0x02
        | (0x04 if mol_per_l else 0)
        | (0x08 if status is not None else 0)
        | (0x10 if context_follows else 0)
    )
    out = bytes([flags]) + _u(sequence, 2) + date_time(base_time)
    out += offset_min.to_bytes(2, "little", signed=True) if offset_min is not None else b""
    out += _sf(concentration) + bytes([type_location])
    return out + (_u(status, 2) if status is not None else b"")


def glucose_context(
    sequence: int, *, carbs_kg: Num | None = None, meal: int | None = None
) -> bytes:
    flags = (0x01 if carbs_kg is not None else 0) | (0x02 if meal is not None else 0)
    out = bytes([flags]) + _u(sequence, 2)
    out += bytes([1]) + _sf(carbs_kg) if carbs_kg is not None else b""
    return out + (bytes([meal]) if meal is not None else b"")


def weight(
    value: Decimal, *, imperial: bool = False, ts: datetime | None = None, user: int | None = None
) -> bytes:
    """``value`` in kg (a multiple of 0.005) or lb (a multiple of 0.01)."""
    step = WEIGHT_IMPERIAL_LB if imperial else WEIGHT_SI_KG
    flags = (0x01 if imperial else 0) | (0x02 if ts else 0) | (0x04 if user is not None else 0)
    out = bytes([flags]) + _u(int(value / step), 2)
    out += date_time(ts) if ts else b""
    return out + (bytes([user]) if user is not None else b"")


def temperature(
    value: Num, *, fahrenheit: bool = False, ts: datetime | None = None, kind: int | None = None
) -> bytes:
    flags = (0x01 if fahrenheit else 0) | (0x02 if ts else 0) | (0x04 if kind is not None else 0)
    out = bytes([flags]) + _u(encode_float(value), 4)
    out += date_time(ts) if ts else b""
    return out + (bytes([kind]) if kind is not None else b"")


def heart_rate(rate: int, *, energy_kj: int | None = None, rr_1024: tuple[int, ...] = ()) -> bytes:
    wide = rate > 0xFF
    flags = (
        (0x01 if wide else 0) | (0x08 if energy_kj is not None else 0) | (0x10 if rr_1024 else 0)
    )
    out = bytes([flags]) + _u(rate, 2 if wide else 1)
    out += _u(energy_kj, 2) if energy_kj is not None else b""
    return out + b"".join(_u(rr, 2) for rr in rr_1024)


def plx_spot_check(spo2: Num, rate: Num, *, ts: datetime | None = None) -> bytes:
    return bytes([0x01 if ts else 0]) + _sf(spo2) + _sf(rate) + (date_time(ts) if ts else b"")


def plx_continuous(spo2: Num, rate: Num) -> bytes:
    return bytes([0]) + _sf(spo2) + _sf(rate)
