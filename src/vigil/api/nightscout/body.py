"""Reading an uploader's body: JSON, gzip allowed, bounded once unpacked (a gzip bomb is a 413
before it fills memory)."""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

from fastapi import Request

from vigil.api.errors import ApiError, BadRequest
from vigil.api.state import state_of


class TooLarge(ApiError):
    status = 413
    code = "too_large"


def _gunzip(raw: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge(f"the body unpacks to more than {limit} bytes")
    if not inflater.eof:
        raise BadRequest("the gzip body is truncated")
    return out


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def json_body(request: Request) -> Any:
    """The request's JSON document (an object or an array)."""
    limit = state_of(request.app).settings.nightscout_max_body_bytes
    raw = await request.body()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        raw = _gunzip(raw, limit)
    elif encoding not in ("identity", ""):
        raise ApiError(f"Content-Encoding {encoding[:20]!r} is not supported (gzip is)")
    if len(raw) > limit:
        raise TooLarge(f"the body is more than {limit} bytes")
    try:
        doc = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"the body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict | list):
        raise BadRequest("the body is a JSON object or an array of objects")
    return doc


def documents(doc: Any, *, most: int) -> list[Any]:
    """An upload's documents: one object or an array of them, at most ``most``."""
    docs = doc if isinstance(doc, list) else [doc]
    if len(docs) > most:
        raise TooLarge(f"{len(docs)} documents in one upload; at most {most}")
    return docs
