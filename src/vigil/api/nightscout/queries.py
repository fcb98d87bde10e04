"""Nightscout's query strings, read strictly, and documents shaped as its clients read them.

v1: ``count`` and ``find[field][$op]=value`` (``find[field]=value`` for equality); v3:
``limit``, ``sort`` / ``sort$desc`` and ``field$op=value`` (``field=value`` for equality).
Only the fields in :data:`repo.FIELDS` may be filtered, each value read as that field's type
(a time, a number or a literal string: never a pattern), so a find cannot reach another
patient's documents or make the database scan with a regular expression.

>>> [(c.field, c.operator, c.value) for c in v1_conditions([("find[sgv][$gte]", "100")])]
[('sgv', '$gte', 100.0)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from vigil.api.errors import BadRequest
from vigil.api.nightscout.repo import FIELDS, OPERATORS, Condition
from vigil.api.nightscout.translate import NotUnderstood, epoch_ms, ns_time

MAX_COUNT = 10_000
"""The most documents one read answers (a larger count is answered with this many)."""
DEFAULT_COUNT = 10
DELTA_WINDOW_MS = 15 * 60 * 1000
"""A follower's delta compares with the previous reading if it is at most this much older."""
_V1 = re.compile(r"^find\[([A-Za-z_]+)\](?:\[(\$[a-z]+)\])?$")
_V3 = re.compile(r"^([A-Za-z_]+)(\$[a-z]+)?$")
_TIMES = {"date", "dateString", "created_at"}
_NUMBERS = {"sgv", "mbg", "carbs", "insulin"}
V3_RESERVED = {"limit", "sort", "sort$desc", "skip", "fields", "now", "token"}


def _condition(field: str, operator: str, value: str) -> Condition:
    if field not in FIELDS:
        raise BadRequest(f"cannot filter on {field[:40]!r}; fields: {', '.join(sorted(FIELDS))}")
    if operator not in OPERATORS:
        raise BadRequest(f"operator {operator[:10]!r} is not supported: {', '.join(OPERATORS)}")
    if len(value) > 100:
        raise BadRequest(f"the value for {field} is longer than 100 characters")
    if field in _TIMES:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        try:
            when: datetime = ns_time(number if math.isfinite(number) else value)
        except NotUnderstood as exc:
            raise BadRequest(f"{field}: {exc}") from None
        return Condition(field, operator, when)
    if field in _NUMBERS:
        try:
            number = float(value)
        except ValueError:
            raise BadRequest(f"{field} is compared with a number, not {value[:20]!r}") from None
        if not math.isfinite(number):
            raise BadRequest(f"{field} is compared with a finite number")
        return Condition(field, operator, number)
    return Condition(field, operator, value)


def v1_conditions(params: Iterable[tuple[str, str]]) -> list[Condition]:
    out = []
    for key, value in params:
        if not key.startswith("find"):
            continue
        match = _V1.match(key)
        if match is None:
            raise BadRequest(f"cannot read the query {key[:60]!r} (find[field][$op]=value)")
        out.append(_condition(match[1], match[2] or "$eq", value))
    return out


def v3_conditions(params: Iterable[tuple[str, str]]) -> list[Condition]:
    out = []
    for key, value in params:
        if key in V3_RESERVED:
            continue
        match = _V3.match(key)
        if match is None:
            raise BadRequest(f"cannot read the query {key[:60]!r} (field$op=value)")
        out.append(_condition(match[1], match[2] or "$eq", value))
    return out


def count(value: str | None, default: int = DEFAULT_COUNT) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"count is a whole number, not {value[:20]!r}") from None
    if n < 1:
        raise BadRequest("count is at least 1")
    return min(n, MAX_COUNT)


def shaped(
    doc: dict[str, Any], created: datetime, modified: datetime, valid: bool = True
) -> dict[str, Any]:
    """A stored document as clients read it: its ``_id`` and the server's times."""
    out = dict(doc)
    out["_id"] = doc["identifier"]
    out["srvCreated"] = epoch_ms(created)
    out["srvModified"] = epoch_ms(modified)
    if not valid:
        out["isValid"] = False
    return out


def with_deltas(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest-first sgv entries, each given a ``delta`` (from the reading before it, within
    :data:`DELTA_WINDOW_MS`, else 0) and a ``direction`` ("NONE") where the uploader sent
    none: followers (py-nightscout among them) read both."""
    sgvs = [e for e in entries if e.get("type") == "sgv" and isinstance(e.get("sgv"), int | float)]
    olders: list[dict[str, Any] | None] = [*sgvs[1:], None]
    for newer, older in zip(sgvs, olders[: len(sgvs)], strict=True):
        if not isinstance(newer.get("delta"), int | float):
            close = older is not None and 0 < newer["date"] - older["date"] <= DELTA_WINDOW_MS
            newer["delta"] = float(newer["sgv"] - older["sgv"]) if close and older else 0.0
        newer.setdefault("direction", "NONE")
    return entries
