"""The clinic list: each of a care team's patients with their last 14 days of CGM as the
consensus measures them (time in range, below range, GMI, CV, wear), sortable, as Tidepool's
clinic dashboard lists them. The same figures as each patient's AGP, from day rollups
(:mod:`vigil.reports.rollup`) and the period's partial days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID

from vigil.clinical.glycaemia import gmi_percent
from vigil.reports import rollup
from vigil.reports.agp import Summary
from vigil.reports.agp_repo import Conn
from vigil.reports.models import ClinicRow

SortKey = Literal["name", "tir", "tbr", "tbr_54", "tar", "gmi", "cv", "active"]


def build_clinic_list(
    conn: Conn,
    *,
    patients: Sequence[tuple[UUID, str]],
    start: datetime,
    end: datetime,
    sort: SortKey = "tir",
    descending: bool = False,
) -> list[ClinicRow]:
    """``patients`` (id, name) with their period's measures; those without CGM readings have
    none (sorted last). Default order: lowest time in range first (who needs a look)."""
    period_s = max((end - start).total_seconds(), 0.0)
    rows = rollup.glucose_summaries(
        conn, patient_ids=[p for p, _ in patients], start=start, end=end
    )
    by_id = {r["patient_id"]: Summary.of(r, period_s) for r in rows}
    out = []
    for pid, name in patients:
        s = by_id.get(pid)
        if s is None or not s.readings:
            out.append(ClinicRow(patient_id=pid, display_name=name, readings=0))
            continue
        sh = s.shares
        out.append(
            ClinicRow(
                patient_id=pid, display_name=name, readings=s.readings, tir=sh["70_180"],
                tbr=sh["below_54"] + sh["54_69"], tbr_54=sh["below_54"],
                tar=sh["181_250"] + sh["above_250"], mean_mg_dl=s.mean,
                gmi=gmi_percent(s.mean) if s.mean is not None else None, cv=s.cv,
                active=s.active,
            )
        )  # fmt: skip
    if sort == "name":
        return sorted(out, key=lambda r: r.display_name, reverse=descending)
    present = [r for r in out if getattr(r, sort) is not None]
    missing = [r for r in out if getattr(r, sort) is None]
    present.sort(key=lambda r: getattr(r, sort), reverse=descending)
    return present + missing
