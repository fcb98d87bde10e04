"""`vigil eval`: detection quality against a ground truth, counted as a nurse meets alerts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def eval_command(
    scenario: str | None = typer.Option(
        None, help="Simulate this device_sim scenario (or t1d_minimal_model)"
    ),
    patients: str = typer.Option(
        "200", help="Simulated patients (a number), or with --readings a patients.jsonl"
    ),
    days: int = typer.Option(30, min=1, help="Simulated days"),
    seed: int = typer.Option(1, help="Simulator seed"),
    readings: Path | None = typer.Option(None, help="readings.jsonl to score instead"),
    truth: Path | None = typer.Option(
        None,
        help="truth.jsonl (with --readings): events, and/or true glucose samples (docs/formats.md)",
    ),
    before_h: float = typer.Option(1.0, help="Hours before an event's start that still match"),
    after_h: float = typer.Option(
        0.0, help="Hours after an event's end that still match (0: none; printed in the output)"
    ),
    out: Path | None = typer.Option(
        None, help="Write findings.jsonl, alerts.jsonl and report.json in this folder"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    unusual: bool = typer.Option(
        False, help="Also raise the low-severity 'unusual for this patient' findings"
    ),
) -> None:
    """Run readings through the detectors; recall, precision, signed delay, alerts per event,
    false alerts per patient-day and per patient-week.

    Conditions in a patients file set each patient's care plan; without one, defaults apply.
    """
    from datetime import timedelta

    from vigil.evaluation.data import EvalData
    from vigil.evaluation.listing import write_listing
    from vigil.evaluation.scoring import EvalConfig, assess, run_detectors

    if readings is not None:
        if truth is None:
            raise typer.BadParameter("--readings needs --truth")
        patients_file = None if patients.isdigit() else Path(patients)
        data = EvalData.from_files(readings, truth, patients_file)
    else:
        from vigil.device_sim import generate, generate_minimal_model
        from vigil.device_sim.minimal_model import SCENARIO as MINIMAL_MODEL

        if not patients.isdigit():
            raise typer.BadParameter("--patients takes a number with --scenario")
        if scenario == MINIMAL_MODEL:
            sim = generate_minimal_model(patients=int(patients), days=days, seed=seed)
        else:
            sim = generate(scenario or "standard", patients=int(patients), days=days, seed=seed)
        data = EvalData.from_records(sim.patients, sim.messages, [*sim.truth, *sim.true_glucose])
    config = EvalConfig(
        before=timedelta(hours=before_h), after=timedelta(hours=after_h), unusual=unusual
    )
    findings = run_detectors(data, config)
    assessment = assess(data, findings, config)
    if out is not None:
        write_listing(out, data, findings, assessment)
    if as_json:
        typer.echo(json.dumps(assessment.report))
    else:
        typer.echo(format_table(assessment.report))


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"{'kind':<22}{'n':>5}{'recall':>8}{'prec':>7}{'delay_s':>10}{'delay_rd':>9}{'per_evt':>8}"
    ]
    for kind, row in report["events"].items():
        lines.append(
            f"{kind:<22}{row['n']:>5}{_f(row['recall']):>8}{_f(row['precision']):>7}"
            f"{_f(row['median_delay_s']):>10}{_f(row['median_delay_readings']):>9}"
            f"{_f(row['alerts_per_event']):>8}"
        )
    o = report["overall"]
    w = report["window"]
    lines.insert(
        0,
        f"an alert matches an event from {w['before_h']:g} h before its start to"
        f" {w['after_h']:g} h after its end; a nurse's count starts a new alert after"
        f" {w['nurse_gap_min']:g} quiet minutes",
    )
    for kind in ("hypoglycemia_urgent",):
        row = report["events"].get(kind, {})
        if row.get("n"):
            lines.append(
                f"{kind}: lead of the episode's first alert before the truth crossed the line,"
                f" median {_f(row['median_lead_s'])} s ({_f(row['lead_15min_share'])} of events"
                f" 15 min or more ahead); before the first reading across it"
                f" {_f(row['median_lead_from_line_s'])} s"
            )
    for fam, row in o["false_by_family"].items():
        lines.append(
            f"false {fam} alerts: {row['false_notifications']} (per patient-day"
            f" {_f(row['false_per_patient_day'])}), a nurse's count {row['nurse_false_alerts']}"
            f" ({_f(row['nurse_false_per_patient_day'])}); critical not at a critical event"
            f" {row['critical_not_at_critical_event']}"
            f" ({_f(row['critical_not_at_critical_event_per_patient_day'])} per patient-day)"
        )
    lines.append(
        f"overall: recall {_f(o['recall'])}, precision {_f(o['precision'])}, alerts per event"
        f" {_f(o['alerts_per_event'])}, false alerts per patient-day"
        f" {_f(o['false_alerts_per_patient_day'])} (CGM patients"
        f" {_f(o['cgm']['false_alerts_per_patient_day'])}), per patient-week"
        f" {_f(o['false_alerts_per_patient_week'])}"
    )
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
