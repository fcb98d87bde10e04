"""Reading a characteristic value field by field, refusing a value too short for its flags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from vigil.gateway.errors import DecodeError
from vigil.gateway.ieee11073 import decode_float, decode_sfloat

DATE_TIME_BYTES = 7
"""Date Time (0x2A08): year uint16, month, day, hours, minutes, seconds uint8."""


class Reader:
    """Little-endian fields in order (the profiles send the least significant octet first)."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.what = what
        self.pos = 0

    def take(self, n: int, field: str) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(
                f"{self.what}: {len(self.data)} bytes is too short for its flags: {field} needs"
                f" bytes {self.pos}-{self.pos + n - 1}"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int, field: str) -> int:
        return int.from_bytes(self.take(n, field), "little")

    def sint16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "little", signed=True)

    def _number(self, n: int, field: str, decoder: Callable[[int], Decimal]) -> Decimal:
        raw = self.uint(n, field)  # too short: refused with its own reason
        try:
            return decoder(raw)
        except DecodeError as exc:
            raise DecodeError(f"{self.what}: {field}: {exc}") from None

    def sfloat(self, field: str) -> Decimal:
        return self._number(2, field, decode_sfloat)

    def float32(self, field: str) -> Decimal:
        return self._number(4, field, decode_float)

    def optional_sfloat(self, field: str, details: dict[str, Any]) -> Decimal | None:
        """An SFLOAT Vigil does not need: a special value goes into ``details``, not a refusal."""
        raw = self.uint(2, field)
        try:
            return decode_sfloat(raw)
        except DecodeError as exc:
            details.setdefault("not_a_number", []).append(f"{field}: {exc}")
            return None

    def date_time(self, field: str, tz: tzinfo) -> datetime | None:
        """A Date Time in the device's local time ``tz``; None when the device says it does not
        know the date (year, month or day 0)."""
        raw = self.take(DATE_TIME_BYTES, field)
        year = int.from_bytes(raw[0:2], "little")
        month, day, hour, minute, second = raw[2:7]
        if year == 0 or month == 0 or day == 0:
            return None
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=tz)
        except ValueError as exc:
            raise DecodeError(
                f"{self.what}: {field} {year:04d}-{month:02d}-{day:02d} "
                f"{hour:02d}:{minute:02d}:{second:02d} is not a date and time ({exc})"
            ) from None

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out


def bits(value: int, names: dict[int, str]) -> list[str]:
    """The names of the bits set in ``value``."""
    return [name for bit, name in names.items() if value & (1 << bit)]
