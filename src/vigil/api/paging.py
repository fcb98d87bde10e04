"""Paging parameters, one definition for every list endpoint: an offset past any table's
size is refused with a 422 before it reaches PostgreSQL (whose OFFSET is a bigint)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_OFFSET = 1_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]
