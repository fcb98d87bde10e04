"""Bundles: a collection (one patient's export) and a searchset (a page of a search).

A collection has no ``total`` (R4's bdl-1 keeps it to searchsets and histories).

Every entry's ``fullUrl`` is the resource's address under the FHIR base, so a relative
reference (``Device/bp.cuff-1``) in one entry resolves to another entry of the same Bundle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _entry(base: str, resource: dict[str, Any], mode: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }
    if mode is not None:
        entry["search"] = {"mode": mode}
    return entry


def collection(base: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(),
        "entry": [_entry(base, r, None) for r in resources],
    }


def searchset(
    base: str,
    *,
    matches: list[dict[str, Any]],
    included: list[dict[str, Any]],
    self_url: str,
    next_url: str | None,
    total: int | None = None,
) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": datetime.now(UTC).isoformat(),
        "link": links,
        "entry": [_entry(base, r, "match") for r in matches]
        + [_entry(base, r, "include") for r in included],
    }
    if total is not None:
        bundle["total"] = total
    return bundle
