"""What a decoded characteristic value becomes: readings in Vigil's payload contract, plus the
details the contract has no place for (status flags, user id, sequence numbers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def number(value: Decimal) -> int | float:
    """A JSON number: an integer when the value is whole (``120``, not ``120.0``)."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True, slots=True)
class GatewayReading:
    """One reading of the payload contract (``vigil.core.payload``); ``ts`` None when the value
    carries no time stamp (the gateway then stamps it with the time it received it)."""

    metric: str
    unit: str
    ts: datetime | None
    value: Decimal | str | None = None
    components: dict[str, Decimal] = field(default_factory=dict)
    """``systolic``/``diastolic``/``pulse`` of a ``blood_pressure`` reading."""

    def to_contract(self, received_at: datetime | None = None) -> dict[str, Any]:
        ts = self.ts or received_at
        out: dict[str, Any] = {}
        if ts is not None:
            out["ts"] = ts.astimezone(UTC).isoformat().replace("+00:00", "Z")
        out["metric"] = self.metric
        if self.value is not None:
            out["value"] = self.value if isinstance(self.value, str) else number(self.value)
        for name, v in self.components.items():
            out[name] = number(v)
        out["unit"] = self.unit
        return out


@dataclass(slots=True)
class Decoded:
    """The readings one characteristic value decodes to and what else it said."""

    characteristic: int
    readings: list[GatewayReading] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    """Fields Vigil's reading contract does not carry: shown by ``vigil gateway decode`` and
    logged by ``vigil gateway run``, never published."""
    sequence: int | None = None
    """A glucose record's sequence number (its identity on the meter, and the RACP cursor)."""

    def payload(self, received_at: datetime | None = None) -> dict[str, Any]:
        return {"readings": [r.to_contract(received_at) for r in self.readings]}
