"""SFLOAT and FLOAT: the examples of the IEEE 11073 encoding tables, the special values, and
encode -> decode round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.gateway.errors import DecodeError
from vigil.gateway.ieee11073 import (
    FLOAT_SPECIAL,
    SFLOAT_SPECIAL,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)

# Hex word, exponent and mantissa as the Personal Health Device encoding tables list them.
SFLOAT_EXAMPLES = [
    (0x0002, "2"),
    (0xF014, "2.0"),
    (0xE0C8, "2.00"),
    (0x1002, "2E+1"),
    (0x2002, "2E+2"),
    (0x00C8, "200"),
    (0x04D2, "1234"),
    (0x0B2E, "-1234"),
    (0x0078, "120"),  # 120 mmHg, which PyPI's bluetooth-sig decodes as 1.2e-06
]
FLOAT_EXAMPLES = [
    (0x00000002, "2"),
    (0xFF000014, "2.0"),
    (0xFE0000C8, "2.00"),
    (0x01000002, "2E+1"),
    (0x000004D2, "1234"),
    (0x00FFFB2E, "-1234"),
    (0xFF00016D, "36.5"),  # 36.5 Cel, which bluetooth-sig decodes as 3.65e+129
]


@pytest.mark.parametrize(("raw", "value"), SFLOAT_EXAMPLES)
def test_sfloat_examples(raw: int, value: str) -> None:
    assert decode_sfloat(raw) == Decimal(value)
    assert str(decode_sfloat(raw)) == value  # the precision the device meant is kept


@pytest.mark.parametrize(("raw", "value"), FLOAT_EXAMPLES)
def test_float_examples(raw: int, value: str) -> None:
    assert decode_float(raw) == Decimal(value)
    assert str(decode_float(raw)) == value


@pytest.mark.parametrize("mantissa", sorted(SFLOAT_SPECIAL))
@pytest.mark.parametrize("exponent", [0, 1, 0xF])
def test_sfloat_special_values_are_refused_with_their_name(mantissa: int, exponent: int) -> None:
    with pytest.raises(DecodeError, match="no measurement") as info:
        decode_sfloat(exponent << 12 | mantissa)
    assert SFLOAT_SPECIAL[mantissa] in str(info.value)


@pytest.mark.parametrize("mantissa", sorted(FLOAT_SPECIAL))
def test_float_special_values_are_refused_with_their_name(mantissa: int) -> None:
    with pytest.raises(DecodeError) as info:
        decode_float(mantissa)
    assert FLOAT_SPECIAL[mantissa] in str(info.value)


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_sfloat_round_trip(mantissa: int, exponent: int) -> None:
    value = Decimal(mantissa).scaleb(exponent)
    assert decode_sfloat(encode_sfloat(value)) == value


@given(st.integers(-8_388_605, 8_388_605), st.integers(-128, 127))
def test_float_round_trip(mantissa: int, exponent: int) -> None:
    value = Decimal(mantissa).scaleb(exponent)
    assert decode_float(encode_float(value)) == value


@given(st.integers(0, 0xFFFF))
def test_every_sfloat_word_decodes_or_is_refused(raw: int) -> None:
    try:
        value = decode_sfloat(raw)
    except DecodeError:
        assert raw & 0x0FFF in SFLOAT_SPECIAL
    else:
        assert decode_sfloat(encode_sfloat(value)) == value


def test_a_value_too_precise_for_an_sfloat_is_not_encoded() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode_sfloat("12.345")
