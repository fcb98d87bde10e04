"""The device payload contract and its parser.

A device publishes JSON to ``vigil/v1/devices/{device_id}/readings``::

    {"readings": [
        {"ts": "2026-11-28T07:02:00Z", "metric": "blood_pressure",
         "systolic": 142, "diastolic": 91, "pulse": 72, "unit": "mm[Hg]"},
        {"ts": "2026-11-28T07:05:00Z", "metric": "glucose", "value": 6.1, "unit": "mmol/L"}
    ]}

``ts`` is an RFC 3339 string with an offset (or a ``Z``); a number (an epoch) is refused.
Values are JSON numbers: a string (``"120"``) or a boolean is refused, a number longer than
``MAX_NUMBER_DIGITS`` digits too, each with its reason. ``metric`` is one of :class:`Metric` or
``blood_pressure``. A batch may carry a backlog of up to ``MAX_BATCH`` readings. Each reading is
checked on its own: valid readings are accepted even when others in the same batch are rejected.

>>> from datetime import UTC, datetime
>>> now = datetime(2026, 11, 28, 8, tzinfo=UTC)
>>> parsed = parse_payload(
...     b'{"readings": [{"ts": "2026-11-28T07:00:00Z", "metric": "spo2", "value": 93, "unit": "%"},'
...     b' {"ts": "2026-11-28T07:00:00Z", "metric": "spo2", "value": 193, "unit": "%"}]}',
...     device_id="ox-1", received_at=now)
>>> [(r.metric.value, r.value) for r in parsed.readings]
[('spo2', 93.0)]
>>> parsed.rejections[0].reason
'spo2 193 % is outside the physiologically possible range 40-100 %'
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from vigil.core.errors import ImplausibleValue, PayloadError, RejectionKind, UnknownMetric
from vigil.core.metrics import (
    BLOOD_PRESSURE,
    BP_COMPONENTS,
    CENSORED_MARKS,
    Metric,
    to_canonical,
    unit_name,
)
from vigil.core.models import Reading, Rejection

MAX_PAYLOAD_BYTES = 1_048_576
MAX_BATCH = 10_000
TOPIC_PREFIX = "vigil/v1/devices/"
TOPIC_SUFFIX = "/readings"


def topic_for(device_id: str) -> str:
    return f"{TOPIC_PREFIX}{device_id}{TOPIC_SUFFIX}"


def device_from_topic(topic: str) -> str | None:
    """The device a topic names, or None if the topic is not a readings topic."""
    if not (topic.startswith(TOPIC_PREFIX) and topic.endswith(TOPIC_SUFFIX)):
        return None
    device = topic[len(TOPIC_PREFIX) : -len(TOPIC_SUFFIX)]
    return device if device and "/" not in device else None


RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?$"
)
MAX_NUMBER_DIGITS = 20
"""A JSON number longer than this is refused before Python converts it (a 5,001-digit integer
would otherwise make ``json.loads`` raise, and a 4,000-digit one cost milliseconds)."""
CensoredMark = Literal["LOW", "HIGH"]
Number = Annotated[float, Strict()]
"""A JSON number: ``"120"`` (a string) and ``true`` (a boolean) are not numbers."""


class ReadingIn(BaseModel):
    """One reading as a device sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    ts: datetime
    metric: str
    unit: str
    value: Number | CensoredMark | None = None
    systolic: Number | None = None
    diastolic: Number | None = None
    pulse: Number | None = None

    @field_validator("value", "systolic", "diastolic", "pulse", mode="before")
    @classmethod
    def _number(cls, v: object, info: ValidationInfo) -> object:
        if info.field_name == "value" and isinstance(v, str) and v.upper() in CENSORED_MARKS:
            return v.upper()
        if isinstance(v, bool):
            raise ValueError(f"{str(v).lower()} is a boolean, not a number")
        if isinstance(v, str):
            raise ValueError(f"{v[:20]!r} is a string, not a number")
        return v

    @field_validator("ts", mode="before")
    @classmethod
    def _rfc3339(cls, ts: object) -> datetime:
        if not isinstance(ts, str):
            raise ValueError(
                f"timestamp must be an RFC 3339 string with an offset (2026-11-28T07:00:00Z),"
                f" not {type(ts).__name__}"
            )
        match = RFC3339.match(ts)
        if match is None:
            raise ValueError(
                "timestamp must be an RFC 3339 string with an offset (2026-11-28T07:00:00Z)"
            )
        if match["offset"] is None:
            raise ValueError("timestamp needs a UTC offset or 'Z'")
        try:
            return datetime.fromisoformat(ts.upper().replace(" ", "T")).astimezone(UTC)
        except ValueError as exc:
            raise ValueError(f"timestamp is not a valid date and time: {exc}") from None

    @field_validator("value", "systolic", "diastolic", "pulse")
    @classmethod
    def _finite(cls, v: float | str | None) -> float | str | None:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v


class PayloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    readings: list[dict[str, Any]]
    device_id: str | None = None
    """Optional; when present it must name the device the topic names."""


@dataclass(slots=True)
class ParsedPayload:
    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _pydantic_reason(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"


def _check_time(ts: datetime, received_at: datetime, future_s: int, max_age_days: int) -> None:
    if ts > received_at + timedelta(seconds=future_s):
        raise PayloadError(
            f"timestamp {ts.isoformat()} is {(ts - received_at).total_seconds():.0f} s in the "
            f"future (device clock wrong?)",
            kind=RejectionKind.TIMESTAMP,
        )
    if ts < received_at - timedelta(days=max_age_days):
        raise PayloadError(
            f"timestamp {ts.isoformat()} is older than {max_age_days} days",
            kind=RejectionKind.TIMESTAMP,
        )


_METRICS = {m.value: m for m in Metric}


def _convert(item: ReadingIn | ReadingFast, device_id: str) -> list[Reading]:
    if item.metric == BLOOD_PRESSURE:
        if item.value is not None:
            raise PayloadError("blood_pressure takes systolic/diastolic/pulse, not value")
        if item.systolic is None or item.diastolic is None:
            raise PayloadError("blood_pressure needs both systolic and diastolic")
        if item.systolic <= item.diastolic:
            raise ImplausibleValue(
                f"systolic {item.systolic:g} is not above diastolic {item.diastolic:g}"
            )
        out = []
        for name, metric in BP_COMPONENTS.items():
            raw = getattr(item, name)
            if raw is None:
                continue
            unit = "/min" if metric is Metric.HEART_RATE else item.unit
            out.append(Reading(item.ts, metric, to_canonical(metric, raw, unit), device_id))
        return out
    found = _METRICS.get(item.metric)
    if found is None:
        known = ", ".join([*(m.value for m in Metric), BLOOD_PRESSURE])
        raise UnknownMetric(f"unknown metric {item.metric!r}; known: {known}")
    metric = found
    if (
        item.value is None
        or item.systolic is not None
        or item.diastolic is not None
        or item.pulse is not None
    ):
        raise PayloadError(f"{metric} takes a single 'value'")
    if isinstance(item.value, str):
        if metric is not Metric.GLUCOSE:
            raise PayloadError(
                f"{item.value!r} is a CGM's out-of-range mark, accepted only for glucose"
            )
        if unit_name(metric, item.unit) is None:
            to_canonical(metric, 100.0, item.unit)  # raises the unknown-unit reason
        bound, side = CENSORED_MARKS[item.value]
        return [Reading(item.ts, metric, bound, device_id, side)]
    return [Reading(item.ts, metric, to_canonical(metric, item.value, item.unit), device_id)]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A payload's JSON, decoded once (the rate limiter and the parser both read it), or why it
    could not be."""

    doc: Any
    rejection: Rejection | None = None


_LONG_NUMBER = re.compile(rb"[0-9.eE+-]{%d,}" % (MAX_NUMBER_DIGITS + 1))
"""A run of number characters longer than any number the contract takes: only such a payload
(or one in UTF-16/32) is decoded through the digit-counting hooks; any other decodes in C."""


def decode_payload(raw: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Decoded:
    """Decode one payload's JSON, or say why not (too large, a number too long, not JSON)."""
    if len(raw) > min(max_bytes, MAX_PAYLOAD_BYTES):
        limit = "1 MiB" if max_bytes >= MAX_PAYLOAD_BYTES else f"the limit of {max_bytes} bytes"
        return Decoded(
            None, Rejection(RejectionKind.TOO_LARGE, f"payload of {len(raw)} bytes exceeds {limit}")
        )
    try:
        if b"\x00" not in raw and _LONG_NUMBER.search(raw) is None:
            return Decoded(json.loads(raw))
        return Decoded(json.loads(raw, parse_int=_parse_int, parse_float=_parse_float))
    except _TooLong as exc:
        return Decoded(None, Rejection(RejectionKind.TOO_LARGE, str(exc)))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Decoded(None, Rejection(RejectionKind.NOT_JSON, f"not JSON: {exc}"))
    except RecursionError:
        return Decoded(None, Rejection(RejectionKind.NOT_JSON, "not JSON: nested too deeply"))
    except ValueError as exc:  # anything else json refuses: a reason, never an exception
        return Decoded(None, Rejection(RejectionKind.NOT_JSON, f"not JSON: {exc}"[:500]))


def parse_payload(
    raw: bytes,
    *,
    device_id: str,
    received_at: datetime,
    future_tolerance_s: int = 600,
    max_age_days: int = 365,
    max_bytes: int = MAX_PAYLOAD_BYTES,
    max_readings: int = MAX_BATCH,
) -> ParsedPayload:
    """Parse one MQTT payload into canonical readings and per-item rejections.

    Never raises on bad input: every problem becomes a :class:`Rejection` with a reason.
    ``max_bytes`` and ``max_readings`` may tighten the contract's limits (a deployment's own).
    """
    return parse_decoded(
        decode_payload(raw, max_bytes=max_bytes),
        device_id=device_id,
        received_at=received_at,
        future_tolerance_s=future_tolerance_s,
        max_age_days=max_age_days,
        max_readings=max_readings,
    )


_PAYLOAD_KEYS = frozenset({"readings", "device_id"})


def _fast_payload(doc: Any) -> tuple[list[Any], str | None] | None:
    """The readings and device of a payload of the usual shape (a dict of ``readings``, a list
    of objects, and perhaps ``device_id``, a string), checked without a model; None for any
    other shape, which :class:`PayloadIn` then refuses with its reason."""
    if type(doc) is not dict or "readings" not in doc or not doc.keys() <= _PAYLOAD_KEYS:
        return None
    items, device = doc["readings"], doc.get("device_id")
    if type(items) is not list or not (device is None or type(device) is str):
        return None
    if not all(type(item) is dict for item in items):
        return None
    return items, device


def parse_decoded(
    decoded: Decoded,
    *,
    device_id: str,
    received_at: datetime,
    future_tolerance_s: int = 600,
    max_age_days: int = 365,
    max_readings: int = MAX_BATCH,
) -> ParsedPayload:
    """:func:`parse_payload` on a payload already decoded (:func:`decode_payload`)."""
    result = ParsedPayload()
    if decoded.rejection is not None:
        result.rejections.append(decoded.rejection)
        return result
    fast = _fast_payload(decoded.doc)
    if fast is None:
        try:
            payload = PayloadIn.model_validate(decoded.doc)
        except ValidationError as exc:
            result.rejections.append(
                Rejection(RejectionKind.SCHEMA, f"wrong schema: {_pydantic_reason(exc)}")
            )
            return result
        fast = payload.readings, payload.device_id
    items, claimed = fast
    if claimed is not None and claimed != device_id:
        result.rejections.append(
            Rejection(
                RejectionKind.OTHER,
                f"payload claims device {claimed!r} on the topic of device {device_id!r}",
            )
        )
        return result
    if not items:
        result.rejections.append(Rejection(RejectionKind.SCHEMA, "wrong schema: readings is empty"))
        return result
    if len(items) > min(max_readings, MAX_BATCH):
        result.rejections.append(
            Rejection(
                RejectionKind.TOO_LARGE,
                f"batch of {len(items)} readings exceeds {min(max_readings, MAX_BATCH)}",
            )
        )
        return result
    seen: set[tuple[datetime, Metric]] = set()
    latest = received_at + timedelta(seconds=future_tolerance_s)
    earliest = received_at - timedelta(days=max_age_days)
    for index, item_doc in enumerate(items):
        try:
            item = fast_reading(item_doc) or ReadingIn.model_validate(item_doc)
            if not earliest <= item.ts <= latest:  # bounds once a payload; the reason below
                _check_time(item.ts, received_at, future_tolerance_s, max_age_days)
            for reading in _convert(item, device_id):
                if (reading.time, reading.metric) in seen:
                    continue  # repeated inside one batch: absorbed like any replay
                seen.add((reading.time, reading.metric))
                result.readings.append(reading)
        except ValidationError as exc:
            result.rejections.append(
                Rejection(
                    RejectionKind.SCHEMA,
                    f"wrong schema: {_pydantic_reason(exc)}",
                    index,
                    _dump(item_doc),
                )
            )
        except PayloadError as exc:
            result.rejections.append(Rejection(exc.kind, str(exc), index, _dump(item_doc)))
    return result


@dataclass(frozen=True, slots=True)
class ReadingFast:
    """A single-value reading of the usual shape, as :class:`ReadingIn` would read it."""

    ts: datetime
    metric: str
    unit: str
    value: float
    systolic: None = None
    diastolic: None = None
    pulse: None = None


_READING_KEYS = frozenset({"ts", "metric", "value", "unit"})


def fast_reading(doc: dict[str, Any]) -> ReadingFast | None:
    """``doc`` read without a model when it has the usual shape (exactly ``ts``, ``metric``,
    ``value`` and ``unit``; an RFC 3339 string with an offset; a finite number, not a
    boolean; two strings), else None: :class:`ReadingIn` then reads it and says what is
    wrong. What this accepts, :class:`ReadingIn` accepts with the same values (a property
    test checks it)."""
    if doc.keys() != _READING_KEYS:
        return None
    ts, metric, unit, value = doc["ts"], doc["metric"], doc["unit"], doc["value"]
    if type(ts) is not str or type(metric) is not str or type(unit) is not str:
        return None
    if type(value) is int:
        value = float(value)
    elif type(value) is not float or not math.isfinite(value):
        return None
    match = RFC3339.match(ts)
    if match is None or match["offset"] is None:
        return None
    try:
        when = datetime.fromisoformat(ts.upper().replace(" ", "T")).astimezone(UTC)
    except ValueError:
        return None
    return ReadingFast(when, metric, unit, value)


class _TooLong(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _TooLong(
            f"number with {len(text.lstrip('-'))} digits is too large"
            f" (at most {MAX_NUMBER_DIGITS} digits)"
        )
    return int(text)


def _parse_float(text: str) -> float:
    digits = sum(c.isdigit() for c in text.split("e")[0].split("E")[0])
    if digits > MAX_NUMBER_DIGITS + 10:
        raise _TooLong(
            f"number with {digits} digits is too long (at most {MAX_NUMBER_DIGITS + 10})"
        )
    return float(text)


def _dump(item: Any) -> str:
    return json.dumps(item, default=str, sort_keys=True)[:4000]
