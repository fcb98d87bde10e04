"""The clinic list's summaries from day rollups: the same figures as the AGP's summary query
(:func:`vigil.reports.agp_repo.glucose_summary`) for every patient at once, without sorting
every reading of the period on each request.

A period splits into a partial first UTC day (the head), whole UTC days and a partial last day
(the tail). Whole days come from ``glucose_day_rollups`` (migration 0111), computed and stored
the first time they are asked for, and again once a reading inserted, changed or deleted in
that day has bumped its generation (a late reading, a backlog upload); head and tail are
computed live. Each segment holds the time-weighted seconds of all its readings but the last;
the last one's span is joined here, as the AGP's window gives it: up to the next reading of
the period (the first of the next segment with readings), capped, or for the period's last
reading back to the one before it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from vigil.clinical.glycaemia import GLUCOSE_RANGES, READING_SPAN_CAP, range_of
from vigil.reports import rollup_repo
from vigil.reports.agp_repo import Conn

_DAY = timedelta(days=1)
_KEYS = [r.key for r in GLUCOSE_RANGES]


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=UTC)


def split_period(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The whole UTC days inside ``[start, end)`` as (first, last), or None if there are none."""
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    first = s.date() if s == _midnight(s.date()) else s.date() + _DAY
    last = e.date() - _DAY
    return (first, last) if first <= last else None


def glucose_summaries(
    conn: Conn, *, patient_ids: list[UUID], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """As :func:`vigil.reports.agp_repo.glucose_summaries`: a row per patient with readings,
    ``patient_id``, ``readings``, ``mean``, ``sd``, ``covered_s`` and the seconds per range."""
    if not patient_ids or end <= start:
        return []
    whole = split_period(start, end)
    segments: dict[UUID, list[Mapping[str, Any]]] = defaultdict(list)
    if whole is None:
        head, tail = (start, end), (end, end)
    else:
        first, last = whole
        head, tail = (start, _midnight(first)), (_midnight(last) + _DAY, end)
        for row in _day_rows(conn, patient_ids, first, last):
            segments[row["patient_id"]].append(row)
    for row in rollup_repo.live_segments(conn, patient_ids=patient_ids, head=head, tail=tail):
        segments[row["patient_id"]].append(row)
    out = []
    for pid in patient_ids:
        summary = combine(sorted(segments.get(pid, []), key=lambda r: r["day"]))
        if summary["readings"]:
            out.append({"patient_id": pid} | summary)
    return out


def _day_rows(
    conn: Conn, patient_ids: list[UUID], first: date, last: date
) -> list[Mapping[str, Any]]:
    rows: list[Mapping[str, Any]] = list(
        rollup_repo.current_rollups(conn, patient_ids=patient_ids, first=first, last=last)
    )
    have = {(r["patient_id"], r["day"]) for r in rows}
    days = [first + _DAY * i for i in range((last - first).days + 1)]
    missing = [(p, d) for p in patient_ids for d in days if (p, d) not in have]
    if missing:
        rows += rollup_repo.fill_rollups(
            conn, patient_ids=[p for p, _ in missing], days=[d for _, d in missing]
        )
    return rows


def combine(segments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One patient's summary from its segments in time order."""
    cap = READING_SPAN_CAP.total_seconds()
    seconds = dict.fromkeys(_KEYS, 0.0)
    n, total, squares, covered = 0, 0.0, 0.0, 0.0
    for seg in segments:
        n += int(seg["readings"])
        total += float(seg["value_sum"] or 0.0)
        squares += float(seg["value_sq_sum"] or 0.0)
        covered += float(seg["covered_s"] or 0.0)
        for key, s in zip(_KEYS, seg["range_s"] or [], strict=False):
            seconds[key] += float(s)
    full = [s for s in segments if s["readings"]]
    for i, seg in enumerate(full):
        last_time: datetime = seg["last_time"]
        if i + 1 < len(full):
            span = (full[i + 1]["first_time"] - last_time).total_seconds()
        elif seg["readings"] > 1:
            span = float(seg["last_back_s"])
        elif i > 0:
            span = (last_time - full[i - 1]["last_time"]).total_seconds()
        else:
            span = cap
        span = min(span, cap)
        covered += span
        seconds[range_of(float(seg["last_value"]))] += span
    mean = total / n if n else None
    sd = None
    if n > 1 and mean is not None:
        sd = math.sqrt(max(squares - n * mean * mean, 0.0) / (n - 1))
    return {"readings": n, "mean": mean, "sd": sd, "covered_s": covered} | seconds
