"""Nightscout documents into Vigil's reading contract.

An uploader's entry, treatment or activity record becomes zero or more readings in the payload
contract (``vigil.core.payload``: ``{"ts", "metric", "value", "unit"}``), which ingest then
checks like any MQTT reading (units, plausibility, clock tolerance). What this module decides
is only what Nightscout's shapes mean:

- time: ``date`` (epoch milliseconds) first, else ``dateString`` / ``created_at`` /
  ``sysTime`` / ``timestamp``; Java's ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` writes the offset without
  a colon (``+0900``), accepted here and written as RFC 3339;
- entries: ``sgv`` (a CGM) and ``mbg`` (a meter) are glucose in mg/dL (``units: "mmol"`` says
  mmol/L); Nightscout writes a CGM's LOW as sgv 39, and values below it are Dexcom's error codes
  (no reading); other types (``cal``, ``sensor``) are kept as documents and make no reading;
- treatments: ``carbs`` (g) and ``insulin`` (U) become carbs and insulin readings;
- activity: ``hr-bpm`` heart rate becomes heart_rate; steps are kept as documents.

A document that cannot be understood is rejected with its reason (it is kept, with the raw
document, in ``rejected_messages``). De-duplication keys are Nightscout's: entries on (date,
type), treatments on identifier, then ``_id``, then (created_at, eventType); device status
never.

>>> ns_time("2026-12-07T18:05:00.000+0900")
datetime.datetime(2026, 12, 7, 9, 5, tzinfo=datetime.timezone.utc)
>>> t = translate("entries", [{"type": "sgv", "sgv": 39, "date": 1796634300000}])
>>> t.readings
[{'ts': '2026-12-07T09:05:00+00:00', 'metric': 'glucose', 'value': 'LOW', 'unit': 'mg/dL'}]
>>> t.documents[0].dedup_key
'1796634300000|sgv'
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from vigil.core.errors import RejectionKind
from vigil.core.metrics import Metric

Collection = Literal[
    "entries", "treatments", "devicestatus", "profile", "settings", "activity", "food"
]
COLLECTIONS: tuple[Collection, ...] = (
    "entries",
    "treatments",
    "devicestatus",
    "profile",
    "settings",
    "activity",
    "food",
)
NS_LOW_SGV = 39
"""Nightscout's (and Dexcom's) sgv for a CGM's LOW: below its range."""
NS_NAMESPACE = uuid.UUID("2b0f8e1c-8f6e-4a53-9d0b-6d1b5c1e0a57")
"""Identifiers derived from a de-duplication key (uuid5): the same key, the same identifier."""
MAX_TEXT = 100
_JAVA_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_TIME_FIELDS = ("dateString", "created_at", "sysTime", "timestamp")


class NotUnderstood(ValueError):
    """A document Vigil cannot read; the message is the reason the uploader is told."""

    kind = RejectionKind.SCHEMA


@dataclass(frozen=True, slots=True)
class Document:
    index: int
    """Where it was in the upload."""
    identifier: str
    date: datetime
    dedup_key: str | None
    doc: dict[str, Any]


@dataclass(slots=True)
class Translated:
    readings: list[dict[str, Any]] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    """For each reading, the index of the document it came from."""
    documents: list[Document] = field(default_factory=list)
    rejections: dict[int, tuple[RejectionKind, str]] = field(default_factory=dict)


def ns_time(value: object) -> datetime:
    """A Nightscout time: epoch milliseconds, or an ISO 8601 string (a ``+0900`` offset too)."""
    if isinstance(value, bool):
        raise NotUnderstood("a time is a number of milliseconds or a date string, not a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 < value < 10**14:
            raise NotUnderstood(f"time {value!r} is not epoch milliseconds")
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and len(value) <= 40:
        text = _JAVA_OFFSET.sub(r"\1:\2", value.strip())
        try:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise NotUnderstood(f"time {value[:40]!r} is not an ISO 8601 date and time") from None
        if parsed.tzinfo is None:
            raise NotUnderstood(f"time {value[:40]!r} has no UTC offset")
        return parsed.astimezone(UTC)
    raise NotUnderstood("a time is a number of milliseconds or a date string")


def document_time(
    doc: dict[str, Any], *, prefer: tuple[str, ...] = ("date", *_TIME_FIELDS)
) -> datetime:
    for name in prefer:
        if doc.get(name) is not None:
            return ns_time(doc[name])
    raise NotUnderstood(f"no time: one of {', '.join(prefer)} is needed")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(ts: datetime) -> int:
    """Milliseconds since the epoch, exactly (``timestamp() * 1000`` is a float: 2038-02-01
    00:00:00.002 came out as ...001).

    >>> epoch_ms(datetime(2038, 2, 1, 0, 0, 0, 2000, tzinfo=UTC))
    2148595200002
    """
    return (ts - EPOCH) // timedelta(milliseconds=1)


def _text(doc: dict[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > MAX_TEXT:
        raise NotUnderstood(f"{name} must be a string of at most {MAX_TEXT} characters")
    return str(value)


def _number(doc: dict[str, Any], name: str) -> float | None:
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise NotUnderstood(f"{name} must be a number, not {json_type(value)}")
    return float(value)


def json_type(value: object) -> str:
    return {str: "a string", bool: "a boolean", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def derived_identifier(*parts: object) -> str:
    return str(uuid.uuid5(NS_NAMESPACE, "|".join(map(str, parts))))


def _reading(ts: datetime, metric: Metric, value: float | str, unit: str) -> dict[str, Any]:
    return {"ts": ts.isoformat(), "metric": metric.value, "value": value, "unit": unit}


def _entry(doc: dict[str, Any]) -> tuple[Document, list[dict[str, Any]]]:
    kind = _text(doc, "type") or "sgv"
    ts = document_time(doc)
    given = document_time(doc, prefer=("dateString",)) if "dateString" in doc else None
    if given is not None and abs((given - ts).total_seconds()) > 60:
        raise NotUnderstood(
            f"date ({ts.isoformat()}) and dateString ({given.isoformat()}) disagree"
        )
    date = epoch_ms(ts)
    identifier = _text(doc, "identifier") or _text(doc, "_id") or derived_identifier(date, kind)
    unit = "mmol/L" if str(doc.get("units", "")).lower().startswith("mmol") else "mg/dL"
    readings = []
    if kind in ("sgv", "mbg"):
        value = _number(doc, kind)
        if value is None:
            raise NotUnderstood(f"a {kind} entry needs {kind}")
        if kind == "sgv" and unit == "mg/dL" and value < NS_LOW_SGV:
            raise NotUnderstood(f"sgv {value:g} is a CGM error code, not a glucose value")
        shown: float | str = "LOW" if kind == "sgv" and value == NS_LOW_SGV else value
        readings.append(_reading(ts, Metric.GLUCOSE, shown, unit))
    body = {**doc, "type": kind, "date": date, "identifier": identifier}
    body.setdefault("dateString", ts.isoformat().replace("+00:00", "Z"))
    return Document(0, identifier, ts, f"{date}|{kind}", body), readings


def _treatment(doc: dict[str, Any]) -> tuple[Document, list[dict[str, Any]]]:
    ts = document_time(doc, prefer=("created_at", "date", "timestamp"))
    event = _text(doc, "eventType") or "<none>"
    created = ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    identifier = _text(doc, "identifier") or _text(doc, "_id") or derived_identifier(created, event)
    readings = []
    carbs, insulin = _number(doc, "carbs"), _number(doc, "insulin")
    if carbs is not None and carbs > 0:
        readings.append(_reading(ts, Metric.CARBS, carbs, "g"))
    if insulin is not None and insulin > 0:
        readings.append(_reading(ts, Metric.INSULIN, insulin, "U"))
    body = {**doc, "eventType": event, "created_at": created, "identifier": identifier}
    body.setdefault("date", epoch_ms(ts))
    return Document(0, identifier, ts, None, body), readings


def _activity(doc: dict[str, Any]) -> tuple[Document, list[dict[str, Any]]]:
    ts = document_time(doc, prefer=("timeStamp", "date", "created_at"))
    kind = _text(doc, "type") or "<none>"
    readings = []
    if kind == "hr-bpm":
        bpm = _number(doc, "bpm")
        if bpm is None:
            raise NotUnderstood("an hr-bpm record needs bpm")
        readings.append(_reading(ts, Metric.HEART_RATE, bpm, "/min"))
    identifier = _text(doc, "identifier") or derived_identifier(epoch_ms(ts), kind)
    body = {**doc, "identifier": identifier}
    return Document(0, identifier, ts, f"{epoch_ms(ts)}|{kind}", body), readings


def _other(doc: dict[str, Any]) -> tuple[Document, list[dict[str, Any]]]:
    """Device status, profiles, settings, food: kept as sent; device status never
    de-duplicated (a fresh identifier unless the client gave one)."""
    try:
        ts = document_time(doc, prefer=("date", "created_at", "startDate", "srvModified"))
    except NotUnderstood:
        ts = datetime.now(UTC)
    identifier = _text(doc, "identifier") or _text(doc, "_id") or str(uuid.uuid4())
    body = {**doc, "identifier": identifier}
    body.setdefault("date", epoch_ms(ts))
    return Document(0, identifier, ts, None, body), []


_BY_COLLECTION = {"entries": _entry, "treatments": _treatment, "activity": _activity}


def translate(collection: Collection, docs: list[Any]) -> Translated:
    """Each document's readings and what is stored of it, or its reason for rejection."""
    out = Translated()
    read = _BY_COLLECTION.get(collection, _other)
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            out.rejections[index] = (
                RejectionKind.SCHEMA,
                f"a document is an object, not {json_type(doc)}",
            )
            continue
        clean = {k: v for k, v in doc.items() if k not in ("srvCreated", "srvModified", "isValid")}
        try:
            document, readings = read(clean)
        except NotUnderstood as exc:
            out.rejections[index] = (exc.kind, str(exc))
            continue
        out.documents.append(
            Document(index, document.identifier, document.date, document.dedup_key, document.doc)
        )
        out.readings.extend(readings)
        out.sources.extend([index] * len(readings))
    return out
