"""`vigil eval` on tiny hand-written files in the simulator's JSON Lines format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from vigil.streaming.cli import register
from vigil.streaming.eval_data import EvalData
from vigil.streaming.evaluation import KIND_CAUSES, evaluate

T0 = datetime(2026, 1, 5, 8, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def message(
    patient: str, device: str, t: datetime, items: list[dict[str, Any]], delay_s: float = 20
) -> dict[str, Any]:
    return {
        "publish_at": iso(t + timedelta(seconds=delay_s)),
        "patient": patient,
        "device_id": device,
        "malformed": False,
        "payload": {"readings": items},
    }


def bp(t: datetime, sys: int, dia: int, pulse: int = 70) -> dict[str, Any]:
    return {
        "ts": iso(t),
        "metric": "blood_pressure",
        "systolic": sys,
        "diastolic": dia,
        "pulse": pulse,
        "unit": "mm[Hg]",
    }


def spo2(t: datetime, v: int) -> dict[str, Any]:
    return {"ts": iso(t), "metric": "spo2", "value": v, "unit": "%"}


def fixture() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Two weeks, two patients, morning and evening readings; one crisis, one misworn oximeter
    (a non-event), one low SpO2 uploaded a day late, a malformed message and a repeat."""
    patients = [
        {"patient": "p1", "conditions": ["hypertension"], "devices": []},
        {"patient": "p2", "conditions": ["copd"], "devices": []},
    ]
    messages = []
    for half_day in range(28):
        t = T0 + timedelta(hours=12 * half_day)
        crisis = half_day == 10
        messages.append(
            message("p1", "cuff", t, [bp(t, 188 if crisis else 128, 95 if crisis else 80)])
        )
        value = 93
        if half_day == 16:
            value = 80  # misworn: re-measured minutes later
        messages.append(message("p2", "ox", t, [spo2(t, value)]))
        if half_day == 16:
            t2 = t + timedelta(minutes=3)
            messages.append(message("p2", "ox", t2, [spo2(t2, 93)]))
    late = T0 + timedelta(hours=12 * 20 + 2)
    messages.append(message("p2", "ox", late, [spo2(late, 85)], delay_s=86400))
    messages.append(message("p2", "ox", late, [spo2(late, 85)], delay_s=86401))  # repeat
    messages.append(
        {
            "publish_at": iso(late),
            "patient": "p2",
            "device_id": "ox",
            "malformed": True,
            "payload_raw": "{not json",
        }
    )
    messages.sort(key=lambda m: m["publish_at"])
    crisis_t = T0 + timedelta(hours=120)
    misworn_t = T0 + timedelta(hours=192)
    truth = [
        {
            "patient": "p1",
            "kind": "hypertensive_crisis",
            "start": iso(crisis_t),
            "end": iso(crisis_t + timedelta(hours=1)),
            "severity": "critical",
            "metrics": ["bp_systolic", "bp_diastolic"],
            "non_event": False,
        },
        {
            "patient": "p2",
            "kind": "misworn_oximeter",
            "start": iso(misworn_t),
            "end": iso(misworn_t + timedelta(minutes=3)),
            "severity": "info",
            "metrics": ["spo2"],
            "non_event": True,
        },
        {
            "patient": "p2",
            "kind": "spo2_low",
            "start": iso(late),
            "end": iso(late + timedelta(minutes=30)),
            "severity": "critical",
            "metrics": ["spo2"],
            "non_event": False,
        },
    ]
    return patients, messages, truth


def test_report_counts_hits_false_alerts_and_delay() -> None:
    data = EvalData.from_records(*fixture())
    assert data.skipped_messages == 2  # the malformed message and the repeat
    report = evaluate(data)
    crisis = report["events"]["hypertensive_crisis"]
    assert crisis == {
        "recall": 1.0,
        "precision": 1.0,
        "median_delay_s": 20.0,  # published 20 s after it was measured
        "median_delay_readings": 1.0,
        "median_delay_data_s": 0.0,
        "n": 1,
        "alerts": 1,
    }
    low = report["events"]["spo2_low"]
    assert (low["recall"], low["n"], low["median_delay_readings"]) == (1.0, 1, 1.0)
    assert low["median_delay_s"] == 86400.0  # uploaded a day late
    assert low["median_delay_data_s"] == 0.0
    overall = report["overall"]
    # The misworn oximeter's 80 % is a spo2_low alert on a non-event: a false alert.
    assert overall["false_alerts_by_cause"]["spo2_low"] == 1
    assert overall["recall"] == 1.0
    assert overall["patients"] == 2
    assert overall["false_alerts"] == 1
    weeks = 2 * 13.5 / 7  # two patients, first to last reading
    assert overall["false_alerts_per_patient_week"] == round(1 / weeks, 3)


def test_a_finding_matches_from_an_hour_before_start_to_12_hours_after_end() -> None:
    patients, messages, truth = fixture()
    crisis = truth[0]
    start = T0 + timedelta(hours=120)
    for shift_h, expected in ((0.5, 1.0), (1.5, 0.0)):  # the crisis reading is shift_h early
        crisis["start"] = iso(start + timedelta(hours=shift_h))
        crisis["end"] = iso(start + timedelta(hours=shift_h + 1))
        report = evaluate(EvalData.from_records(patients, messages, truth))
        assert report["events"]["hypertensive_crisis"]["recall"] == expected, shift_h
    for late_h, expected in ((11.5, 1.0), (12.5, 0.0)):  # the reading is late_h after the end
        crisis["start"] = iso(start - timedelta(hours=late_h + 1))
        crisis["end"] = iso(start - timedelta(hours=late_h))
        report = evaluate(EvalData.from_records(patients, messages, truth))
        assert report["events"]["hypertensive_crisis"]["recall"] == expected, late_h


def test_every_truth_kind_of_the_simulator_has_causes() -> None:
    for kind in ("hypertensive_crisis", "hypoglycemia_urgent", "spo2_low", "hf_decompensation"):
        assert KIND_CAUSES[kind]


def test_cli_eval_scores_files(tmp_path: Path) -> None:
    import typer

    patients, messages, truth = fixture()
    for name, rows in (("patients", patients), ("readings", messages), ("truth", truth)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    app, bench_app = typer.Typer(), typer.Typer()
    app.add_typer(bench_app, name="bench")
    register(app, bench_app)
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--readings",
            str(tmp_path / "readings.jsonl"),
            "--truth",
            str(tmp_path / "truth.jsonl"),
            "--patients",
            str(tmp_path / "patients.jsonl"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"events", "overall"}
    assert report["events"]["hypertensive_crisis"]["recall"] == 1.0
    assert {"recall", "precision", "false_alerts_per_patient_week"} <= set(report["overall"])


def test_eval_on_the_simulator_finds_the_critical_events() -> None:
    from vigil.device_sim import generate

    out = generate("stress", patients=20, days=7, seed=5)
    data = EvalData.from_records(out.patients, out.messages, out.truth)
    report = evaluate(data)
    kinds = {t["kind"] for t in out.truth if not t["non_event"]}
    assert kinds <= set(report["events"])
    for kind in ("hypertensive_crisis", "hypoglycemia_urgent", "spo2_low"):
        row = report["events"][kind]
        assert row["n"] >= 1
        assert row["recall"] == 1.0, (kind, row)
        assert row["median_delay_readings"] == 1.0, (kind, row)
    assert report["overall"]["patients"] == 20
