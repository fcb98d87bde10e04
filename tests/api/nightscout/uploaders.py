"""Request shapes of the real uploader apps, written as our own fixtures from reading their
sources (xDrip+'s NightscoutUploader, AAPS's nssdk NightscoutRemoteService and remote models,
Loop/Trio's NightscoutUploader, nightscout-connect's outputs/nightscout): what they send,
not code of theirs."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from vigil.api.nightscout import epoch_ms
from vigil.device_sim.nightscout import java_date_string, xdrip_entry


def xdrip_sgv(
    ts: datetime, sgv: int, *, delta: float = 0.0, direction: str = "Flat"
) -> dict[str, Any]:
    """One xDrip+ entry (NightscoutUploader: device, date, dateString, sgv, delta, direction,
    type, filtered, unfiltered, rssi, noise, sysTime), with the delta and arrow given."""
    return {**xdrip_entry(ts, sgv, None), "delta": round(delta, 3), "direction": direction}


def xdrip_headers(secret: str, *, gzipped: bool = False) -> dict[str, str]:
    headers = {
        "api-secret": hashlib.sha1(secret.encode()).hexdigest(),  # noqa: S324 (the protocol)
        "Content-Type": "application/json",
        "User-Agent": "okhttp/3.14.9",
    }
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return headers


def gz(doc: Any) -> bytes:
    return gzip.compress(json.dumps(doc).encode())


def xdrip_treatment(ts: datetime, *, carbs: float = 0, insulin: float = 0) -> dict[str, Any]:
    """xDrip+'s treatment: timestamp, eventType, enteredBy, notes, uuid, carbs, insulin,
    created_at (UTC, milliseconds, Z), sysTime (Java's offset form)."""
    return {
        "timestamp": epoch_ms(ts),
        "eventType": "<none>",
        "enteredBy": "xdrip",
        "notes": "",
        "uuid": f"xdrip-{int(ts.timestamp())}",
        "carbs": carbs,
        "insulin": insulin,
        "created_at": ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "sysTime": java_date_string(ts),
    }


def aaps_treatment(ts: datetime, identifier: str, *, carbs: float) -> dict[str, Any]:
    """AAPS's v3 carbs (RemoteTreatment): date, utcOffset, device, identifier, eventType,
    isValid, created_at, carbs, duration, app."""
    return {
        "date": epoch_ms(ts),
        "utcOffset": 540,
        "device": "AndroidAPS-DexcomG6",
        "identifier": identifier,
        "eventType": "Carb Correction",
        "isValid": True,
        "created_at": ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "carbs": carbs,
        "duration": 0,
        "app": "AAPS",
    }


def aaps_entry(ts: datetime, identifier: str, sgv: int) -> dict[str, Any]:
    """AAPS's v3 sgv (RemoteEntry)."""
    return {
        "type": "sgv",
        "sgv": sgv,
        "date": epoch_ms(ts),
        "dateString": ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "utcOffset": 540,
        "direction": "Flat",
        "noise": 1,
        "filtered": float(sgv),
        "unfiltered": float(sgv),
        "units": "mg/dl",
        "device": "AndroidAPS-DexcomG6",
        "identifier": identifier,
        "isValid": True,
        "app": "AAPS",
    }


def loop_bolus(ts: datetime, identifier: str, insulin: float) -> dict[str, Any]:
    """Loop/Trio's bolus treatment (v1 POST): created_at ISO 8601 UTC, eventType, insulin,
    duration, programmed, type, syncIdentifier, enteredBy."""
    return {
        "created_at": ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timestamp": ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventType": "Correction Bolus",
        "insulin": insulin,
        "programmed": insulin,
        "duration": 0,
        "type": "normal",
        "syncIdentifier": identifier,
        "_id": identifier,
        "enteredBy": "loop://iPhone",
    }


def loop_devicestatus(ts: datetime) -> dict[str, Any]:
    return {
        "device": "loop://iPhone",
        "created_at": ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pump": {"reservoir": 120.5, "battery": {"percent": 75}},
        "loop": {"iob": {"iob": 1.2}, "cob": {"cob": 10}},
        "uploader": {"battery": 88},
    }


def connect_entry(ts: datetime, sgv: int) -> dict[str, Any]:
    """nightscout-connect's output entry: type, sgv, date, dateString (ISO, Z), direction,
    device."""
    return {
        "type": "sgv",
        "sgv": sgv,
        "date": epoch_ms(ts),
        "dateString": ts.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "direction": "FortyFiveDown",
        "device": "nightscout-connect://dexcomshare",
    }
