from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from vigil.clinical.findings import Explanation, Finding, Severity
from vigil.storage import admin


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def patient(conn: psycopg.Connection[Any]) -> tuple[uuid.UUID, uuid.UUID]:
    tenant = admin.create_tenant(conn, name=f"clinic-{uuid.uuid4().hex[:6]}")
    pid = admin.create_patient(conn, tenant_id=tenant, display_name="P", conditions=["copd"])
    return tenant, pid


def finding(
    patient_id: uuid.UUID,
    *,
    cause: str = "spo2_low",
    value: float = 88.0,
    severity: Severity = Severity.HIGH,
    time: datetime | None = None,
    age_s: float = 0.0,
    window_s: float | None = None,
    detector: str = "rule.spo2",
    metrics: tuple[str, ...] = ("spo2",),
    details: dict[str, object] | None = None,
) -> Finding:
    return Finding(
        patient_id=patient_id,
        cause=cause,
        metrics=metrics,
        time=time or datetime.now(UTC),
        detector=detector,
        severity=severity,
        score=1.0,
        explanation=Explanation(
            sentence=f"SpO2 {value:g} % is below 90 %",
            value=value,
            threshold=90.0,
            window_s=window_s,
            details=details or {},
        ),
        age_s=age_s,
    )


def ago(**kw: float) -> datetime:
    return datetime.now(UTC) - timedelta(**kw)
