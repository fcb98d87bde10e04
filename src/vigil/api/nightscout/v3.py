"""Nightscout API v3, the subset AAPS uses: status, lastModified, create, search, read,
history, patch and delete of entries, treatments, device status, profiles, settings and food.

Every call needs the JWT (``Authorization: Bearer``) from ``/api/v2/authorization/request``.
A document deleted is marked so (``isValid: false``): history shows followers the deletion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from vigil.api.deps import ConnDep
from vigil.api.errors import ApiError, BadRequest
from vigil.api.nightscout import queries, repo
from vigil.api.nightscout.auth import V3Caller
from vigil.api.nightscout.body import json_body
from vigil.api.nightscout.state import ingest_of
from vigil.api.nightscout.translate import Collection, epoch_ms, ns_time
from vigil.api.nightscout.uploads import upload
from vigil.api.nightscout.v1 import NS_VERSION
from vigil.core.errors import NotFound

router = APIRouter(prefix="/api/v3", tags=["nightscout"])
API_VERSION = "3.0.4"
V3Collection = Literal["entries", "treatments", "devicestatus", "profile", "settings", "food"]
CollectionPath = Annotated[V3Collection, Path()]
Identifier = Annotated[str, Path(min_length=1, max_length=100)]
Body = Annotated[Any, Depends(json_body)]
IMMUTABLE = frozenset({"identifier", "_id", "date", "created_at", "srvCreated", "srvModified"})
"""Fields a patch may not change (Nightscout refuses them too)."""


class Gone(ApiError):
    status = 410
    code = "gone"


def _ok(result: Any, status: int = 200) -> dict[str, Any]:
    return {"status": status, "result": result}


def _now_ms() -> int:
    return epoch_ms(datetime.now(UTC))


@router.get("/version")
def version(caller: V3Caller) -> dict[str, Any]:
    return _ok(
        {
            "version": NS_VERSION,
            "apiVersion": API_VERSION,
            "srvDate": _now_ms(),
            "storage": {"storage": "postgresql", "version": "vigil"},
        }
    )


@router.get("/status")
def status(caller: V3Caller) -> dict[str, Any]:
    """What AAPS checks after its settings change: versions and this token's permissions."""
    result = version(caller)["result"]
    result["apiPermissions"] = {c: "crud" for c in get_args(V3Collection)}
    return _ok(result)


@router.get("/lastModified")
def last_modified(conn: ConnDep, caller: V3Caller) -> dict[str, Any]:
    found = repo.last_modified(conn, patient_id=caller.patient())
    return _ok(
        {"srvDate": _now_ms(), "collections": {c: epoch_ms(t) for c, t in sorted(found.items())}}
    )


@router.get("/{collection}")
def search(
    request: Request, conn: ConnDep, caller: V3Caller, collection: CollectionPath
) -> dict[str, Any]:
    params = list(request.query_params.multi_items())
    conditions = queries.v3_conditions(params)
    limit = queries.count(request.query_params.get("limit"), queries.DEFAULT_COUNT)
    ascending = "sort" in request.query_params and "sort$desc" not in request.query_params
    rows = repo.find_documents(
        conn,
        patient_id=caller.patient(),
        collection=collection,
        conditions=conditions,
        limit=limit,
        ascending=ascending,
    )
    return _ok([queries.shaped(*row) for row in rows])


@router.post("/{collection}", status_code=201)
def create(
    request: Request, conn: ConnDep, caller: V3Caller, collection: CollectionPath, body: Body
) -> JSONResponse:
    """One document. Entries and treatments feed readings as in v1; a repeat answers 200
    with ``isDeduplication``; a rejected document answers 400 with its reason."""
    if not isinstance(body, dict):
        raise BadRequest("API v3 creates one document (a JSON object) at a time")
    target: Collection = collection
    outcome = upload(
        conn,
        ingest_of(request),
        device_id=caller.device_id,
        patient_id=caller.patient(),
        collection=target,
        docs=[body],
        path=request.url.path,
        replace=collection in ("treatments", "profile", "settings", "food"),
    )
    if 0 in outcome.rejected:
        kind, reason = outcome.rejected[0]
        raise BadRequest(f"rejected ({kind}): {reason}")
    stored = outcome.stored[0]
    modified = epoch_ms(stored.modified) if stored.modified else _now_ms()
    result = {
        "identifier": stored.identifier,
        "isDeduplication": not stored.new,
        "deduplicatedIdentifier": None if stored.new else stored.identifier,
        "lastModified": modified,
    }
    code = 201 if stored.new else 200
    return JSONResponse({"status": code, **result, "result": result}, status_code=code)


@router.get("/{collection}/history/{since}")
def history(
    request: Request,
    conn: ConnDep,
    caller: V3Caller,
    collection: CollectionPath,
    since: Annotated[int, Path(ge=0, lt=10**14)],
) -> dict[str, Any]:
    """Documents changed after ``since`` (epoch ms), deleted ones too, oldest change first."""
    limit = queries.count(request.query_params.get("limit"), 1000)
    rows = repo.find_documents(
        conn,
        patient_id=caller.patient(),
        collection=collection,
        limit=limit,
        ascending=True,
        modified_since=ns_time(since) if since > 0 else datetime.fromtimestamp(0, UTC),
        include_deleted=True,
    )
    return _ok([queries.shaped(*row) for row in rows])


@router.get("/{collection}/{identifier}")
def read(
    conn: ConnDep, caller: V3Caller, collection: CollectionPath, identifier: Identifier
) -> dict[str, Any]:
    found = repo.get_document(
        conn, patient_id=caller.patient(), collection=collection, identifier=identifier
    )
    if found is None:
        raise NotFound(f"no {collection} document {identifier!r}")
    if not found[3]:
        raise Gone(f"{collection} document {identifier!r} was deleted")
    return _ok(queries.shaped(*found))


@router.patch("/{collection}/{identifier}")
def patch(
    conn: ConnDep,
    caller: V3Caller,
    collection: CollectionPath,
    identifier: Identifier,
    body: Body,
) -> dict[str, Any]:
    """Change fields of a stored document (a reading already stored stays as it was: readings
    are never rewritten)."""
    if not isinstance(body, dict):
        raise BadRequest("a patch is a JSON object")
    changes = {k: v for k, v in body.items() if k not in ("srvModified", "isValid")}
    fixed = sorted(IMMUTABLE & changes.keys())
    if fixed:
        raise BadRequest(f"cannot change {', '.join(fixed)}")
    modified = repo.patch_document(
        conn,
        patient_id=caller.patient(),
        collection=collection,
        identifier=identifier,
        changes=changes,
    )
    if modified is None:
        raise NotFound(f"no {collection} document {identifier!r}")
    return _ok({"identifier": identifier, "lastModified": epoch_ms(modified)})


@router.delete("/{collection}/{identifier}")
def delete(
    conn: ConnDep, caller: V3Caller, collection: CollectionPath, identifier: Identifier
) -> dict[str, Any]:
    n = repo.delete_documents(
        conn, patient_id=caller.patient(), collection=collection, identifiers=[identifier]
    )
    if n == 0:
        raise NotFound(f"no {collection} document {identifier!r}")
    return _ok({"identifier": identifier, "lastModified": _now_ms()})
