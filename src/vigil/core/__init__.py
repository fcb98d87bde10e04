"""Vigil's shared core: metrics and units, domain records, the device payload contract."""

from vigil.core.errors import (
    Conflict,
    ImplausibleValue,
    NotFound,
    PayloadError,
    RejectionKind,
    ServerStartError,
    UnknownMetric,
    UnknownUnit,
    VigilError,
)
from vigil.core.metrics import BLOOD_PRESSURE, SPECS, Metric, MetricSpec, to_canonical
from vigil.core.models import Reading, Rejection, StoredReading
from vigil.core.payload import ParsedPayload, device_from_topic, parse_payload, topic_for

__all__ = [
    "BLOOD_PRESSURE",
    "SPECS",
    "Conflict",
    "ImplausibleValue",
    "Metric",
    "MetricSpec",
    "NotFound",
    "ParsedPayload",
    "PayloadError",
    "Reading",
    "Rejection",
    "RejectionKind",
    "ServerStartError",
    "StoredReading",
    "UnknownMetric",
    "UnknownUnit",
    "VigilError",
    "device_from_topic",
    "parse_payload",
    "to_canonical",
    "topic_for",
]
