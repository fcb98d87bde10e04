"""IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit), as the Bluetooth health profiles use them.

Both are a signed base-10 exponent and a signed mantissa, value = mantissa * 10**exponent: an
SFLOAT has a 4-bit exponent (the high nibble) and a 12-bit mantissa, a FLOAT an 8-bit exponent
(the high byte) and a 24-bit mantissa, both two's complement. Values are decoded to
:class:`~decimal.Decimal`, so ``0xF014`` (mantissa 20, exponent -1) is exactly ``2.0``.

Five mantissas are not numbers: NaN, NRes (not at this resolution), +INFINITY, -INFINITY and
one reserved for future use. The standard defines them with exponent 0; a device never encodes
a measurement with these mantissas, so they are refused at any exponent, each with its reason.

>>> decode_sfloat(0x0078), decode_sfloat(0xF014), decode_sfloat(0x0B2E)
(Decimal('120'), Decimal('2.0'), Decimal('-1234'))
>>> decode_float(0xFF00016D)
Decimal('36.5')
>>> decode_sfloat(0x07FF)
Traceback (most recent call last):
...
vigil.gateway.errors.DecodeError: SFLOAT 0x07FF is NaN (not a number): no measurement
"""

from __future__ import annotations

from decimal import Decimal

from vigil.gateway.errors import DecodeError

SFLOAT_SPECIAL: dict[int, str] = {
    0x07FF: "NaN (not a number)",
    0x0800: "NRes (not at this resolution)",
    0x07FE: "+INFINITY",
    0x0802: "-INFINITY",
    0x0801: "reserved for future use",
}
"""SFLOAT's special 12-bit mantissas and what they mean."""

FLOAT_SPECIAL: dict[int, str] = {
    0x007FFFFF: "NaN (not a number)",
    0x00800000: "NRes (not at this resolution)",
    0x007FFFFE: "+INFINITY",
    0x00800002: "-INFINITY",
    0x00800001: "reserved for future use",
}
"""FLOAT's special 24-bit mantissas and what they mean."""

SFLOAT_MANTISSA_MAX = 2045
"""The largest mantissa magnitude of an SFLOAT number (2046 and up are special values)."""
SFLOAT_EXPONENT = (-8, 7)
FLOAT_MANTISSA_MAX = 8_388_605
FLOAT_EXPONENT = (-128, 127)


def _signed(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def decode_sfloat(raw: int) -> Decimal:
    """The number a 16-bit SFLOAT word carries; :class:`DecodeError` for a special value."""
    mantissa_bits = raw & 0x0FFF
    if mantissa_bits in SFLOAT_SPECIAL:
        raise DecodeError(f"SFLOAT 0x{raw:04X} is {SFLOAT_SPECIAL[mantissa_bits]}: no measurement")
    return Decimal(_signed(mantissa_bits, 12)).scaleb(_signed(raw >> 12, 4))


def decode_float(raw: int) -> Decimal:
    """The number a 32-bit FLOAT word carries; :class:`DecodeError` for a special value."""
    mantissa_bits = raw & 0x00FFFFFF
    if mantissa_bits in FLOAT_SPECIAL:
        raise DecodeError(f"FLOAT 0x{raw:08X} is {FLOAT_SPECIAL[mantissa_bits]}: no measurement")
    return Decimal(_signed(mantissa_bits, 24)).scaleb(_signed(raw >> 24, 8))


def _encode(value: Decimal, exp_bits: int, mant_bits: int, mant_max: int) -> int:
    sign, digits, exponent = value.normalize().as_tuple() if value else (0, (0,), 0)
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)))
    lo, hi = -(1 << (exp_bits - 1)), (1 << (exp_bits - 1)) - 1
    while exponent > 0 and abs(mantissa) * 10 <= mant_max:  # 1.2E+2 -> 120, exponent 0
        mantissa, exponent = mantissa * 10, exponent - 1
    if abs(mantissa) > mant_max or not lo <= exponent <= hi:
        raise ValueError(f"{value} does not fit a {exp_bits + mant_bits}-bit IEEE-11073 float")
    mantissa = -mantissa if sign else mantissa
    return ((exponent & ((1 << exp_bits) - 1)) << mant_bits) | (mantissa & ((1 << mant_bits) - 1))


def encode_sfloat(value: Decimal | int | str) -> int:
    """The SFLOAT word of ``value``, exactly (the smallest exponent >= 0 that holds an integer,
    else the fewest decimals): the device simulator's and the tests' encoder.

    >>> hex(encode_sfloat("120")), hex(encode_sfloat("36.5")), decode_sfloat(encode_sfloat("-1.5"))
    ('0x78', '0xf16d', Decimal('-1.5'))
    """
    return _encode(Decimal(value), 4, 12, SFLOAT_MANTISSA_MAX)


def encode_float(value: Decimal | int | str) -> int:
    """The FLOAT word of ``value`` (the shortest exact form)."""
    return _encode(Decimal(value), 8, 24, FLOAT_MANTISSA_MAX)
