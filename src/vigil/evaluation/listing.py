"""What `vigil eval --out DIR` writes: every finding and every alert, as JSON Lines.

``findings.jsonl``: one line per finding (patient, cause, episode, data time, when it could be
seen, severity, value, sentence). ``alerts.jsonl``: one line per alert as a nurse would have
met it (patient, episode, causes, when it opened and reopened, when it resolved, worst value,
severity, findings, the truth kinds it matched, or none: a false alert).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vigil.alerts.episodes import episode_of
from vigil.clinical.findings import Finding
from vigil.evaluation.data import EvalData
from vigil.evaluation.scoring import Assessment


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def finding_rows(data: EvalData, findings: Iterable[Finding]) -> list[dict[str, Any]]:
    rows = []
    for f in sorted(findings, key=lambda f: (data.name_of(f.patient_id), f.time)):
        rows.append(
            {
                "patient": data.name_of(f.patient_id),
                "cause": f.cause,
                "episode": episode_of(f.cause),
                "time": _iso(f.time),
                "seen": _iso(f.time + timedelta(seconds=f.age_s)),
                "detector": f.detector,
                "severity": f.severity.name.lower(),
                "value": f.explanation.value,
                "sentence": f.explanation.sentence,
            }
        )
    return rows


def alert_rows(data: EvalData, assessment: Assessment) -> list[dict[str, Any]]:
    rows = []
    for a in assessment.alerts:
        rows.append(
            {
                "patient": data.name_of(a.patient_id),
                "episode": a.rule.key,
                "causes": a.causes,
                "opened": _iso(a.notified[0]),
                "reopened": [_iso(t) for t in a.notified[1:]],
                "first_seen": _iso(min(f.time for f in a.findings)),
                "last_seen": _iso(a.last_seen),
                "resolved_at": _iso(a.resolved_at),
                "findings": len(a.findings),
                "severity": a.severity.name.lower(),
                "worst_value": a.worst_value,
                "matched": sorted(assessment.matched_kinds.get(id(a), ())),
            }
        )
    return rows


def write_listing(
    out: Path, data: EvalData, findings: Iterable[Finding], assessment: Assessment
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (
        ("findings", finding_rows(data, findings)),
        ("alerts", alert_rows(data, assessment)),
    ):
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    (out / "report.json").write_text(json.dumps(assessment.report, indent=1), encoding="utf-8")
