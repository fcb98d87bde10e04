"""The FHIR R4 read API an EMR pulls from: ``/fhir/r4/metadata``, ``Patient/{id}``,
``Device/{id}``, ``Observation?patient=...`` and ``DetectedIssue?patient=...``.

Authenticated with a bearer token (a service account's, or a staff member's), scoped like the
REST API (a patient another tenant's or another care team's is 404), every read audited;
answers in ``application/fhir+json``, errors as OperationOutcome (vigil.api.fhir_edge).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vigil.api import fhir_repo
from vigil.api.access import Principal
from vigil.api.audit import audit_allowed, refuse
from vigil.api.deps import ConnDep, scope_patient
from vigil.api.errors import Unauthenticated
from vigil.api.fhir_edge import (
    BadSearch,
    FhirResponse,
    FhirRoute,
    cursor_time,
    date_range,
    decode_cursor,
    encode_cursor,
    outcome,
)
from vigil.api.fhir_reads import ALL_KINDS, Page, issue_page, observation_page
from vigil.api.fhir_repo import Conn
from vigil.api.fhir_summary import cgm_summary
from vigil.api.routers.patients import time_range
from vigil.api.security import token_digest
from vigil.api.state import state_of
from vigil.clinical.fhir_profiles import (
    CGM_SUMMARY_CODING,
    KINDS,
    LABORATORY,
    LOINC,
    OBSERVATION_CATEGORY,
    kinds_for_code,
)
from vigil.clinical.glycaemia import REPORT_DAYS
from vigil.core.errors import NotFound
from vigil.fhir import device, device_id_of, patient, searchset
from vigil.fhir.capability import capability_statement

FHIR_BASE = "/fhir/r4"
# Its contract is its CapabilityStatement (metadata), not the REST API's OpenAPI document.
router = APIRouter(prefix=FHIR_BASE, route_class=FhirRoute, tags=["fhir"], include_in_schema=False)
_bearer = HTTPBearer(auto_error=False, description="A service account's token")
CountQuery = Annotated[int, Query(alias="_count", ge=1, le=1000)]


def fhir_caller(
    conn: ConnDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise refuse(conn, request, None, Unauthenticated())
    principal = fhir_repo.fhir_principal_for_token(
        conn, digest=token_digest(credentials.credentials)
    )
    if principal is None:
        raise refuse(conn, request, None, Unauthenticated("the token is unknown or expired"))
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(fhir_caller)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + FHIR_BASE


def _patient_id(text: str) -> UUID | None:
    try:
        return UUID(text.removeprefix("Patient/"))
    except ValueError:
        return None


def _visible_patient(conn: Conn, request: Request, principal: Principal, text: str) -> UUID:
    scope = scope_patient(conn, request, principal, _patient_id(text), named=text)
    return scope.patient_id


@router.get("/metadata", response_class=FhirResponse)
def metadata(request: Request) -> FhirResponse:
    """What this server does (no token needed, as FHIR clients read it first)."""
    return FhirResponse(capability_statement(_base(request)))


@router.get("/Patient/{resource_id}", response_class=FhirResponse)
def read_patient(resource_id: str, conn: ConnDep, request: Request, caller: Caller) -> FhirResponse:
    pid = _visible_patient(conn, request, caller, resource_id)
    found = fhir_repo.patient(conn, patient_id=pid)
    if found is None:
        raise NotFound(f"no patient {resource_id}")
    return FhirResponse(patient(found))


@router.get("/Device/{device_id}", response_class=FhirResponse)
def read_device(device_id: str, conn: ConnDep, request: Request, caller: Caller) -> FhirResponse:
    vigil_id = device_id_of(device_id)
    found = (
        fhir_repo.visible_device(conn, principal=caller, device_id=vigil_id)
        if vigil_id is not None
        else None
    )
    if found is None:
        raise refuse(conn, request, caller, NotFound(f"no device {device_id} that you may see"))
    audit_allowed(conn, request, caller, patient_id=None, detail={"device": found.device_id})
    return FhirResponse(device(found))


def _tokens(values: list[str], system: str) -> set[str] | None:
    """Token search values (``code``, ``system|code``, comma-separated: any of them)."""
    if not values:
        return None
    out = set()
    for value in values:
        for token in value.split(","):
            given, _, code = token.rpartition("|")
            if given in ("", system):
                out.add(code)
    return out


def _answer(request: Request, page: Page, next_at: Sequence[Any] | None) -> FhirResponse:
    """The page as a searchset Bundle, with a ``next`` link (the same search, the cursor
    where this page ended) when there is more."""
    next_url = None
    if next_at is not None:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
        kept.append(("_cursor", encode_cursor(list(next_at))))
        next_url = f"{_base(request)}/{request.url.path.rsplit('/', 1)[-1]}?{urlencode(kept)}"
    return FhirResponse(
        searchset(
            _base(request),
            matches=page.matches,
            included=page.included,
            self_url=str(request.url),
            next_url=next_url,
        )
    )


@router.get("/Observation", response_class=FhirResponse)
def search_observations(
    conn: ConnDep,
    request: Request,
    caller: Caller,
    patient_param: Annotated[str, Query(alias="patient")],
    count: CountQuery = 100,
    cursor: Annotated[str | None, Query(alias="_cursor")] = None,
) -> FhirResponse:
    """A patient's Observations, newest first, ``_count`` a page, with ``next`` links;
    ``category``, ``code`` (LOINC) and ``date`` (ge, gt, le, lt, eq) narrow them."""
    patient_id = _visible_patient(conn, request, caller, patient_param)
    query = request.query_params
    kinds = set(ALL_KINDS)
    categories = _tokens(query.getlist("category"), OBSERVATION_CATEGORY)
    if categories is not None:
        kinds &= {k for k, spec in KINDS.items() if spec.category in categories}
    codes = _tokens(query.getlist("code"), LOINC)
    if codes is not None and CGM_SUMMARY_CODING.code in codes:
        if len(codes) > 1:
            raise BadSearch(f"search the CGM summary ({CGM_SUMMARY_CODING.code}) on its own")
        wanted = categories is None or LABORATORY in categories
        return _summary(conn, request, patient_id, wanted)
    if codes is not None:
        kinds &= {k for code in codes for k in kinds_for_code(code)}
    start, end = date_range(query.getlist("date"))
    after = None
    if cursor is not None:
        at, device_id, group = decode_cursor(cursor, 3)
        after = (cursor_time(at), device_id, group)
    page = observation_page(
        conn,
        patient_id=patient_id,
        kinds=sorted(kinds),
        start=start,
        end=end,
        after=after,
        count=count,
    )
    return _answer(request, page, page.next_cursor)


def _summary(conn: Conn, request: Request, patient_id: UUID, wanted: bool) -> FhirResponse:
    """The CGM summary of the ``date`` range (``ge`` its start, ``le``/``lt`` its end; default
    the AGP's last 14 days), its members and the Patient: one match, no further page."""
    lo, hi = date_range(request.query_params.getlist("date"))
    end = hi + timedelta(microseconds=1) if hi is not None else None  # [start, end)
    start, end = time_range(lo, end, timedelta(days=REPORT_DAYS))
    page = Page()
    if wanted:
        zone = state_of(request.app).settings.clinic_time_zone
        found, patients = cgm_summary(
            conn, patient_id=patient_id, start=start, end=end, time_zone=zone
        )
        if found:  # the members are what the summary's hasMember includes
            page.matches, page.included = found[:1], found[1:] + patients
    return _answer(request, page, None)


@router.get("/DetectedIssue", response_class=FhirResponse)
def search_detected_issues(
    conn: ConnDep,
    request: Request,
    caller: Caller,
    patient_param: Annotated[str, Query(alias="patient")],
    count: CountQuery = 50,
    cursor: Annotated[str | None, Query(alias="_cursor")] = None,
) -> FhirResponse:
    """A patient's alerts as DetectedIssues, newest first, with the evidence Observations."""
    patient_id = _visible_patient(conn, request, caller, patient_param)
    after = None
    if cursor is not None:
        at, alert_id = decode_cursor(cursor, 2)
        try:
            after = (cursor_time(at), UUID(alert_id))
        except ValueError:
            raise BadSearch("the page cursor is not one this server issued") from None
    page, next_after = issue_page(conn, patient_id=patient_id, after=after, count=count)
    return _answer(request, page, next_after)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_supported(rest: str, request: Request) -> Any:
    """Anything else: this server is read-only and serves the interactions in ``metadata``."""
    if request.method != "GET":
        return outcome(405, f"{request.method} is not supported: this FHIR server is read-only")
    return outcome(404, f"{rest!r} is not a resource or search this server supports")
