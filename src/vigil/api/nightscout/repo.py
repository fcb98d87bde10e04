"""The Nightscout API's SQL: who a credential belongs to, the documents, the signing key."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg import sql

from vigil.api.nightscout.translate import Document

Conn = psycopg.Connection[Any]
CredentialColumn = Literal["secret_sha1", "secret_sha512", "token"]


@dataclass(frozen=True, slots=True)
class Uploader:
    """A device speaking Nightscout, and the patient it is assigned to now (None: none)."""

    device_id: str
    patient_id: UUID | None


_CALLER = (
    "SELECT d.id, a.patient_id FROM devices d"
    " LEFT JOIN device_assignments a ON a.device_id = d.id AND a.valid @> now()"
    " WHERE d.revoked_at IS NULL AND "
)


def uploader_by_credential(
    conn: Conn, *, column: CredentialColumn, digest: bytes
) -> Uploader | None:
    """The active device whose Nightscout credential has ``digest`` (revoked: None)."""
    row = conn.execute(
        sql.SQL(_CALLER)
        + sql.SQL("d.id = (SELECT device_id FROM nightscout_credentials WHERE {} = %s)").format(
            sql.Identifier(column)
        ),
        (digest,),
    ).fetchone()
    return None if row is None else Uploader(str(row[0]), row[1])


def uploader_by_device(conn: Conn, *, device_id: str) -> Uploader | None:
    """The device a JWT names, if it is still active and still has Nightscout credentials."""
    row = conn.execute(
        sql.SQL(_CALLER)
        + sql.SQL(
            "d.id = %s AND EXISTS (SELECT 1 FROM nightscout_credentials c WHERE c.device_id = d.id)"
        ),
        (device_id,),
    ).fetchone()
    return None if row is None else Uploader(str(row[0]), row[1])


def signing_key(conn: Conn) -> bytes:
    """The key API v2/v3 tokens are signed with: made once, shared by every API process."""
    row = conn.execute("SELECT key FROM nightscout_signing_key WHERE id = 1").fetchone()
    if row is not None:
        return bytes(row[0])
    conn.execute(
        "INSERT INTO nightscout_signing_key (id, key) VALUES (1, %s) ON CONFLICT DO NOTHING",
        (secrets.token_bytes(32),),
    )
    row = conn.execute("SELECT key FROM nightscout_signing_key WHERE id = 1").fetchone()
    assert row is not None
    return bytes(row[0])


@dataclass(frozen=True, slots=True)
class Stored:
    identifier: str
    new: bool
    """False: a repeat (de-duplicated, or an upsert of a stored document)."""
    modified: datetime | None


_UNNEST = (
    " SELECT %s, %s, i, %s, d, k, doc FROM unnest(%s::text[], %s::timestamptz[], %s::text[],"
    " %s::jsonb[]) AS u(i, d, k, doc)"
)


def store_documents(
    conn: Conn,
    *,
    patient_id: UUID,
    device_id: str,
    collection: str,
    documents: Sequence[Document],
    replace: bool,
) -> dict[int, Stored]:
    """Store ``documents`` (by upload index), in one statement. ``replace``: a document with a
    stored identifier replaces it (treatments, profiles; the last of an upload wins); else a
    repeat of a key stored before (identifier or de-duplication key) adds nothing."""
    if not documents:
        return {}
    if replace:
        last = {d.identifier: d for d in documents}
        rows = list(last.values())
    else:
        rows = list(documents)
    params = (
        patient_id,
        collection,
        device_id,
        [d.identifier for d in rows],
        [d.date for d in rows],
        [d.dedup_key for d in rows],
        [json.dumps(d.doc) for d in rows],
    )
    insert = (
        "INSERT INTO nightscout_documents AS n (patient_id, collection, identifier, device_id,"
        " date, dedup_key, doc)" + _UNNEST
    )
    if replace:
        found = conn.execute(
            insert + " ON CONFLICT (patient_id, collection, identifier) DO UPDATE SET"
            " doc = EXCLUDED.doc, date = EXCLUDED.date, device_id = EXCLUDED.device_id,"
            " is_valid = true, srv_modified = clock_timestamp()"
            " RETURNING identifier, (xmax = 0), srv_modified",
            params,
        ).fetchall()
        by_id = {str(i): Stored(str(i), bool(new), m) for i, new, m in found}
        return {d.index: by_id[d.identifier] for d in documents}
    inserted = {
        str(i): m
        for i, m in conn.execute(
            insert + " ON CONFLICT DO NOTHING RETURNING identifier, srv_modified", params
        ).fetchall()
    }
    repeats = [d for d in rows if d.identifier not in inserted]
    held: dict[str, str] = {}
    if repeats:
        for identifier, key in conn.execute(
            "SELECT identifier, dedup_key FROM nightscout_documents WHERE patient_id = %s"
            " AND collection = %s AND (identifier = ANY(%s) OR dedup_key = ANY(%s))",
            (
                patient_id,
                collection,
                [d.identifier for d in repeats],
                [d.dedup_key for d in repeats if d.dedup_key is not None],
            ),
        ).fetchall():
            held[str(identifier)] = str(identifier)
            if key is not None:
                held[str(key)] = str(identifier)
    out: dict[int, Stored] = {}
    claimed: set[str] = set()
    for d in rows:
        if d.identifier in inserted and d.identifier not in claimed:
            claimed.add(d.identifier)
            out[d.index] = Stored(d.identifier, True, inserted[d.identifier])
        else:
            same = held.get(d.identifier) or held.get(d.dedup_key or "") or d.identifier
            out[d.index] = Stored(same, False, None)
    return out


FIELDS: dict[str, sql.Composable] = {
    "date": sql.SQL("date"),
    "dateString": sql.SQL("date"),
    "created_at": sql.SQL("date"),
    "sgv": sql.SQL("(doc->>'sgv')::float8"),
    "mbg": sql.SQL("(doc->>'mbg')::float8"),
    "carbs": sql.SQL("(doc->>'carbs')::float8"),
    "insulin": sql.SQL("(doc->>'insulin')::float8"),
    "type": sql.SQL("doc->>'type'"),
    "eventType": sql.SQL("doc->>'eventType'"),
    "device": sql.SQL("doc->>'device'"),
    "identifier": sql.SQL("identifier"),
    "_id": sql.SQL("identifier"),
}
"""What a query may filter on, and the column or expression each reads."""
OPERATORS = {"$gte": ">=", "$gt": ">", "$lte": "<=", "$lt": "<", "$eq": "=", "$ne": "<>"}


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    operator: str
    value: datetime | float | str


def find_documents(
    conn: Conn,
    *,
    patient_id: UUID,
    collection: str,
    conditions: Sequence[Condition] = (),
    limit: int,
    ascending: bool = False,
    modified_since: datetime | None = None,
    include_deleted: bool = False,
) -> list[tuple[dict[str, Any], datetime, datetime, bool]]:
    """The patient's documents (newest first unless ``ascending``), each with its server
    created and modified times and whether it is valid (not deleted)."""
    where: list[sql.Composable] = [sql.SQL("patient_id = %s"), sql.SQL("collection = %s")]
    params: list[Any] = [patient_id, collection]
    if not include_deleted:
        where.append(sql.SQL("is_valid"))
    for c in conditions:
        where.append(sql.SQL("{} {} %s").format(FIELDS[c.field], sql.SQL(OPERATORS[c.operator])))
        params.append(c.value)
    order = sql.SQL("date")
    if modified_since is not None:
        where.append(sql.SQL("srv_modified > %s"))
        params.append(modified_since)
        order = sql.SQL("srv_modified")
    query = sql.SQL(
        "SELECT doc, srv_created, srv_modified, is_valid FROM nightscout_documents"
        " WHERE {} ORDER BY {} {} LIMIT %s"
    ).format(sql.SQL(" AND ").join(where), order, sql.SQL("ASC" if ascending else "DESC"))
    params.append(limit)
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(query, params).fetchall()]


def get_document(
    conn: Conn, *, patient_id: UUID, collection: str, identifier: str
) -> tuple[dict[str, Any], datetime, datetime, bool] | None:
    row = conn.execute(
        "SELECT doc, srv_created, srv_modified, is_valid FROM nightscout_documents"
        " WHERE patient_id = %s AND collection = %s AND identifier = %s",
        (patient_id, collection, identifier),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def patch_document(
    conn: Conn, *, patient_id: UUID, collection: str, identifier: str, changes: dict[str, Any]
) -> datetime | None:
    row = conn.execute(
        "UPDATE nightscout_documents SET doc = doc || %s::jsonb,"
        " srv_modified = clock_timestamp() WHERE patient_id = %s AND collection = %s"
        " AND identifier = %s AND is_valid RETURNING srv_modified",
        (json.dumps(changes), patient_id, collection, identifier),
    ).fetchone()
    return None if row is None else row[0]


def delete_documents(
    conn: Conn, *, patient_id: UUID, collection: str, identifiers: Sequence[str]
) -> int:
    """Mark deleted (API v3's soft delete: followers' history sees the deletion)."""
    cur = conn.execute(
        "UPDATE nightscout_documents SET is_valid = false, srv_modified = clock_timestamp()"
        " WHERE patient_id = %s AND collection = %s AND identifier = ANY(%s) AND is_valid",
        (patient_id, collection, list(identifiers)),
    )
    return cur.rowcount


def last_modified(conn: Conn, *, patient_id: UUID) -> dict[str, datetime]:
    rows = conn.execute(
        "SELECT collection, max(srv_modified) FROM nightscout_documents WHERE patient_id = %s"
        " GROUP BY collection",
        (patient_id,),
    ).fetchall()
    return {str(c): m for c, m in rows}
