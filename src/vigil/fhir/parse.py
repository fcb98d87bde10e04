"""Readings back out of a Bundle: what an EMR reads, checked against what Vigil stored.

The inverse of :mod:`vigil.fhir.observations` for the round-trip test and for integrators'
own checks: each Observation gives its stored (time, metric, value, device id, censored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vigil.clinical.fhir_profiles import BP_COMPONENTS, COMPARATOR, KINDS
from vigil.core.metrics import Metric
from vigil.fhir.ids import device_id_of

_BY_CODE = {k.loinc: k for k in KINDS.values()}
_COMPONENT = {c.code: m for m, c in BP_COMPONENTS.items()}
_CENSORED = {v: k for k, v in COMPARATOR.items()}


@dataclass(frozen=True, slots=True)
class ParsedReading:
    time: datetime
    metric: Metric
    value: float
    device_id: str
    censored: str | None


def _device(resource: dict[str, Any]) -> str:
    ref: str = resource["device"]["reference"]
    device_id = device_id_of(ref.removeprefix("Device/"))
    if device_id is None:
        raise ValueError(f"not a Vigil device reference: {ref!r}")
    return device_id


def readings(bundle: dict[str, Any]) -> list[ParsedReading]:
    out: list[ParsedReading] = []
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        if resource["resourceType"] != "Observation":
            continue
        spec = _BY_CODE[resource["code"]["coding"][0]["code"]]
        time = datetime.fromisoformat(resource["effectiveDateTime"])
        device_id = _device(resource)
        if "component" in resource:
            for component in resource["component"]:
                metric = _COMPONENT[component["code"]["coding"][0]["code"]]
                value = float(component["valueQuantity"]["value"])
                out.append(ParsedReading(time, metric, value, device_id, None))
            continue
        (metric,) = spec.metrics
        quantity = resource["valueQuantity"]
        censored = _CENSORED.get(quantity.get("comparator", ""))
        out.append(ParsedReading(time, metric, float(quantity["value"]), device_id, censored))
    return out
