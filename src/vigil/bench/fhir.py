"""`vigil bench fhir`: latency and throughput of the FHIR reads an EMR makes.

The same history as `vigil bench api` (heart rate and SpO2 hourly, blood pressure twice a day,
glucose three times, weight daily, a few alerts per patient; its loader), served by separate
uvicorn processes, read by ``clients`` concurrent keep-alive connections: a page of 100
Observations (``/fhir/r4/Observation?patient=..&_count=100``), the SpO2 of the last week
(``code`` and ``date``), a patient's DetectedIssues with their evidence, the REST export
of 30 days (``/api/v1/patients/{id}/fhir/observations``, a collection Bundle), and the CGM
summary of the last 14 days (``code=107931-8``: the AGP computed, then mapped).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.bench.api import _database, _drive, _run, _servers, load
from vigil.clinical.fhir_profiles import CGM_SUMMARY_CODING
from vigil.settings import Settings


def run_bench(
    settings: Settings,
    *,
    patients: int = 100,
    days: int = 30,
    clients: int = 8,
    requests: int = 1000,
    processes: int = 2,
) -> dict[str, Any]:
    with _database(settings) as url:
        t = time.perf_counter()
        data = load(url, patients=patients, days=days, team_size=patients)
        load_s = time.perf_counter() - t
        week = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
        ids = data["patients"]
        endpoints = {
            "observation_page_100": [f"/fhir/r4/Observation?patient={p}&_count=100" for p in ids],
            "spo2_last_week": [
                f"/fhir/r4/Observation?patient={p}&code=2708-6&date=ge{week}&_count=200"
                for p in ids
            ],
            "detected_issues": [f"/fhir/r4/DetectedIssue?patient={p}" for p in ids],
            "rest_export_30d": [f"/api/v1/patients/{p}/fhir/observations" for p in ids],
            "cgm_summary_14d": [
                f"/fhir/r4/Observation?patient={p}&code={CGM_SUMMARY_CODING.code}" for p in ids
            ],
        }
        with _servers(url, processes, {}) as bases:
            results = {
                name: _run(_drive(bases, paths, data["token"], clients=clients, requests=requests))
                for name, paths in endpoints.items()
            }
    return {
        "endpoints": results,
        "setup": {
            "patients": patients,
            "days": days,
            "readings": data["readings"],
            "clients": clients,
            "requests_per_endpoint": requests,
            "server_processes": processes,
            "load_s": round(load_s, 1),
        },
    }
