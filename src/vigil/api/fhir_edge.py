"""The FHIR API's edge: ``application/fhir+json`` responses, errors as OperationOutcome, and
the search parameters (``date=ge..``, paging cursors) parsed with a 400 for what is wrong."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from vigil.api.errors import ApiError
from vigil.core.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


_ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 413: "too-costly"}


def outcome(status: int, message: str, headers: dict[str, str] | None = None) -> FhirResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": _ISSUE_CODE.get(status, "processing"),
                "diagnostics": message,
            }
        ],
    }
    return FhirResponse(body, status_code=status, headers=headers)


class FhirRoute(APIRoute):
    """Every error of a FHIR route answered as an OperationOutcome with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as e:
                return outcome(e.status, str(e), e.headers)
            except NotFound as e:
                return outcome(404, str(e))
            except InvalidInput as e:
                return outcome(400, str(e))
            except RequestValidationError as e:
                where = "; ".join(
                    f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
                    for err in e.errors()
                )
                return outcome(400, f"the request is not valid: {where}")

        return answer


class BadSearch(InvalidInput):
    """A search parameter FHIR does not define this way, or a value that does not parse."""


def _instant(text: str) -> tuple[datetime, datetime]:
    """The range a FHIR date or dateTime covers: a day, or an instant (with its zone)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start, start + timedelta(days=1)
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadSearch(f"date {text!r} is not a FHIR date (YYYY-MM-DD) or dateTime") from None
    if at.tzinfo is None:
        raise BadSearch(f"dateTime {text!r} needs a time zone (Z or +09:00)")
    return at, at


_TICK = timedelta(microseconds=1)


def date_range(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """``date`` search values (``ge``, ``gt``, ``le``, ``lt``, ``eq``; a date covers its UTC
    day) as one closed range [lo, hi], each bound None when open.

    >>> date_range(["ge2026-11-01", "lt2026-11-03"])[1].isoformat()
    '2026-11-02T23:59:59.999999+00:00'
    """
    lo: datetime | None = None
    hi: datetime | None = None
    for value in values:
        prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
        if prefix not in ("ge", "gt", "le", "lt", "eq"):
            raise BadSearch(f"date prefix {prefix!r} is not supported (ge, gt, le, lt, eq)")
        try:
            start, end = _instant(text)
            last = end - _TICK if end > start else start  # the last instant the value covers
            low = {"ge": start, "eq": start, "gt": last + _TICK}.get(prefix)
            high = {"le": last, "eq": last, "lt": start - _TICK}.get(prefix)
        except OverflowError:  # the first or last day a datetime can hold
            raise BadSearch(f"date {text!r} is out of the range this server searches") from None
        if low is not None:
            lo = low if lo is None else max(lo, low)
        if high is not None:
            hi = high if hi is None else min(hi, high)
    return lo, hi


def encode_cursor(parts: list[Any]) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else str(p) for p in parts])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, size: int) -> list[str]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadSearch("the page cursor is not one this server issued") from None
    if (
        not isinstance(parts, list)
        or len(parts) != size
        or not all(isinstance(p, str) for p in parts)
    ):
        raise BadSearch("the page cursor is not one this server issued")
    return parts


def cursor_time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BadSearch("the page cursor is not one this server issued") from None
    if at.tzinfo is None:
        raise BadSearch("the page cursor is not one this server issued")
    return at
