"""Nightscout API v1 (xDrip+, followers, watch faces, Loop/Trio, nightscout-connect)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from vigil.api.deps import ConnDep
from vigil.api.nightscout import queries, repo
from vigil.api.nightscout.auth import NsCaller, V1Caller, issue_jwt, token_caller
from vigil.api.nightscout.body import documents, json_body
from vigil.api.nightscout.state import ingest_of
from vigil.api.nightscout.translate import Collection, epoch_ms
from vigil.api.nightscout.uploads import UploadOutcome, upload
from vigil.core.errors import NotFound
from vigil.core.payload import MAX_BATCH

router = APIRouter(tags=["nightscout"])
Body = Annotated[Any, Depends(json_body)]
SERVER_NAME = "Vigil"
NS_VERSION = "15.0.3"
"""The Nightscout version Vigil answers as: clients check it for the features they use (xDrip+
downloads treatments only from 0.9+, AAPS needs API v3)."""


def _answer(docs: list[Any], outcome: UploadOutcome) -> JSONResponse:
    """Each uploaded document in order: stored ones with ``_id``, rejected ones with
    ``vigil_rejected`` (kind and reason); ``X-Vigil-Rejected`` counts them."""
    out: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        item = dict(doc) if isinstance(doc, dict) else {"document": doc}
        if index in outcome.rejected:
            kind, reason = outcome.rejected[index]
            item["vigil_rejected"] = {"kind": kind, "reason": reason}
        elif index in outcome.stored:
            item["_id"] = outcome.stored[index].identifier
        out.append(item)
    # xDrip+ gzips its uploads to a server whose answers say it accepts gzip.
    headers = {"X-Vigil-Rejected": str(len(outcome.rejected)), "Accept-Encoding": "gzip"}
    return JSONResponse(out, headers=headers)


def _upload(
    request: Request,
    conn: Any,
    caller: NsCaller,
    body: Any,
    collection: Collection,
    *,
    replace: bool,
) -> JSONResponse:
    docs = documents(body, most=MAX_BATCH)
    outcome = upload(
        conn,
        ingest_of(request),
        device_id=caller.device_id,
        patient_id=caller.patient_id,
        collection=collection,
        docs=docs,
        path=request.url.path,
        replace=replace,
    )
    return _answer(docs, outcome)


def _find(
    request: Request,
    conn: Any,
    caller: NsCaller,
    collection: Collection,
    *,
    kind: str | None = None,
    default_count: int = queries.DEFAULT_COUNT,
) -> list[dict[str, Any]]:
    params = list(request.query_params.multi_items())
    conditions = queries.v1_conditions(params)
    if kind is not None:
        conditions.append(repo.Condition("type", "$eq", kind))
    n = queries.count(request.query_params.get("count"), default_count)
    rows = repo.find_documents(
        conn,
        patient_id=caller.patient(),
        collection=collection,
        conditions=conditions,
        limit=n + 1 if collection == "entries" else n,
    )
    docs = [queries.shaped(*row) for row in rows]
    if collection == "entries":
        docs = queries.with_deltas(docs)[:n]
    return docs


@router.post("/api/v1/entries")
@router.post("/api/v1/entries.json")
def post_entries(request: Request, conn: ConnDep, caller: V1Caller, body: Body) -> JSONResponse:
    """Glucose entries (xDrip+: an array of sgv/mbg/cal; gzip allowed)."""
    return _upload(request, conn, caller, body, "entries", replace=False)


@router.get("/api/v1/entries/current")
@router.get("/api/v1/entries/current.json")
def current_entry(request: Request, conn: ConnDep, caller: V1Caller) -> list[dict[str, Any]]:
    return _find(request, conn, caller, "entries", kind="sgv", default_count=1)[:1]


@router.get("/api/v1/entries")
@router.get("/api/v1/entries.json")
def get_entries(request: Request, conn: ConnDep, caller: V1Caller) -> list[dict[str, Any]]:
    return _find(request, conn, caller, "entries")


@router.get("/api/v1/entries/{kind}")
def get_entries_of(
    request: Request,
    conn: ConnDep,
    caller: V1Caller,
    kind: Annotated[str, Path(pattern=r"^(sgv|mbg|cal)(\.json)?$")],
) -> list[dict[str, Any]]:
    return _find(request, conn, caller, "entries", kind=kind.removesuffix(".json"))


@router.post("/api/v1/treatments")
@router.post("/api/v1/treatments.json")
@router.put("/api/v1/treatments")
@router.put("/api/v1/treatments.json")
def post_treatments(request: Request, conn: ConnDep, caller: V1Caller, body: Body) -> JSONResponse:
    """Treatments (upserted on identifier, then _id, then created_at and eventType); carbs and
    insulin become readings."""
    return _upload(request, conn, caller, body, "treatments", replace=True)


@router.get("/api/v1/treatments")
@router.get("/api/v1/treatments.json")
def get_treatments(request: Request, conn: ConnDep, caller: V1Caller) -> list[dict[str, Any]]:
    return _find(request, conn, caller, "treatments")


@router.delete("/api/v1/treatments/{identifier}")
def delete_treatment(
    conn: ConnDep, caller: V1Caller, identifier: Annotated[str, Path(max_length=100)]
) -> dict[str, Any]:
    n = repo.delete_documents(
        conn, patient_id=caller.patient(), collection="treatments", identifiers=[identifier]
    )
    if n == 0:
        raise NotFound(f"no treatment {identifier[:100]!r}")
    return {"n": n, "ok": 1}


@router.post("/api/v1/devicestatus")
@router.post("/api/v1/devicestatus.json")
def post_devicestatus(
    request: Request, conn: ConnDep, caller: V1Caller, body: Body
) -> JSONResponse:
    """Device status (never de-duplicated, as in Nightscout)."""
    return _upload(request, conn, caller, body, "devicestatus", replace=False)


@router.get("/api/v1/devicestatus")
@router.get("/api/v1/devicestatus.json")
def get_devicestatus(request: Request, conn: ConnDep, caller: V1Caller) -> list[dict[str, Any]]:
    return _find(request, conn, caller, "devicestatus")


@router.post("/api/v1/activity")
@router.post("/api/v1/activity.json")
def post_activity(request: Request, conn: ConnDep, caller: V1Caller, body: Body) -> JSONResponse:
    """Watch data from xDrip+: ``hr-bpm`` heart rate becomes heart_rate readings; steps are
    kept as documents."""
    return _upload(request, conn, caller, body, "activity", replace=False)


@router.post("/api/v1/profile")
@router.post("/api/v1/profile.json")
def post_profile(request: Request, conn: ConnDep, caller: V1Caller, body: Body) -> JSONResponse:
    return _upload(request, conn, caller, body, "profile", replace=True)


@router.get("/api/v1/profile")
@router.get("/api/v1/profile.json")
def get_profile(request: Request, conn: ConnDep, caller: V1Caller) -> list[dict[str, Any]]:
    return _find(request, conn, caller, "profile", default_count=1)


def status_document() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "status": "ok",
        "name": SERVER_NAME,
        "version": NS_VERSION,
        "serverTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "serverTimeEpoch": epoch_ms(now),
        "apiEnabled": True,
        "careportalEnabled": False,
        "boluscalcEnabled": False,
        "settings": {
            "units": "mg/dl",
            "enable": ["careportal", "iob", "cob"],
            "authDefaultRoles": "",
        },
        "extendedSettings": {},
        "authorized": None,
    }


@router.get("/api/v1/status")
@router.get("/api/v1/status.json")
def status(caller: V1Caller) -> dict[str, Any]:
    """What xDrip+ and followers check first: the server's version and units."""
    return status_document()


@router.get("/api/v1/verifyauth")
def verifyauth(caller: V1Caller) -> dict[str, Any]:
    return {
        "status": 200,
        "message": {
            "canRead": True,
            "canWrite": True,
            "isAdmin": False,
            "message": "OK",
            "rolefound": "FOUND",
            "permissions": "ROLE",
        },
    }


@router.get("/pebble")
def pebble(request: Request, conn: ConnDep, caller: V1Caller) -> dict[str, Any]:
    """The watch faces' summary: the latest glucose, its delta and direction."""
    entries = _find(request, conn, caller, "entries", kind="sgv", default_count=1)
    now = epoch_ms(datetime.now(UTC))
    bgs = [
        {
            "sgv": str(int(e["sgv"])),
            "trend": _TRENDS.get(str(e.get("direction")), 0),
            "direction": e.get("direction", "NONE"),
            "datetime": e["date"],
            "bgdelta": e["delta"],
        }
        for e in entries
    ]
    return {"status": [{"now": now}], "bgs": bgs, "cals": []}


_TRENDS = {
    "NONE": 0,
    "DoubleUp": 1,
    "SingleUp": 2,
    "FortyFiveUp": 3,
    "Flat": 4,
    "FortyFiveDown": 5,
    "SingleDown": 6,
    "DoubleDown": 7,
    "NOT COMPUTABLE": 8,
    "RATE OUT OF RANGE": 9,
}
"""Dexcom's trend numbers, which the Pebble answer carries beside the direction's name."""


@router.get("/api/v2/authorization/request/{token}")
def authorization_request(
    request: Request, conn: ConnDep, token: Annotated[str, Path(max_length=200)]
) -> dict[str, Any]:
    """An access token exchanged for a JWT (API v3's ``Authorization: Bearer``)."""
    caller = token_caller(conn, request, token)
    signed, iat, exp = issue_jwt(conn, caller.device_id)
    return {
        "token": signed,
        "sub": caller.device_id,
        "permissionGroups": [["api:*:create", "api:*:read", "api:*:update", "api:*:delete"]],
        "iat": iat,
        "exp": exp,
    }
