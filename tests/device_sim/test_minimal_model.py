"""The minimal-model scenario: deterministic, truth from simulated blood glucose, CGM artefacts
labelled, and the detectors scored on it."""

from __future__ import annotations

import doctest

import pytest

from vigil.device_sim import minimal_model
from vigil.device_sim.minimal_model import Params, generate_minimal_model
from vigil.evaluation import evaluate
from vigil.evaluation.data import EvalData, parse_time


def test_doctests() -> None:
    assert doctest.testmod(minimal_model).failed == 0


def test_the_carb_ratio_is_plausible_and_runs_repeat() -> None:
    """The carb ratio is the model's own (a few units for 60 g), and a run is a function of its
    seed."""
    import random

    p = Params(gb=120.0)
    assert 500 < p.bolus_for(60) < 20_000  # mU: a few units for 60 g
    # Same seed, same run.
    a = minimal_model.simulate_patient("x", random.Random(7), 2, parse_time("2026-01-05T00:00:00Z"))
    b = minimal_model.simulate_patient("x", random.Random(7), 2, parse_time("2026-01-05T00:00:00Z"))
    assert a == b


def test_truth_is_blood_glucose_episodes_and_artefacts_are_non_events() -> None:
    out = generate_minimal_model(patients=12, days=7, seed=2)
    kinds = {e["kind"] for e in out.truth}
    assert {"hypoglycemia", "compression_low"} <= kinds
    for e in out.truth:
        assert parse_time(e["end"]) > parse_time(e["start"])
        assert e["non_event"] == (e["kind"] == "compression_low")
    urgent = [e for e in out.truth if e["kind"] == "hypoglycemia_urgent"]
    level1 = [e for e in out.truth if e["kind"] == "hypoglycemia"]
    for u in urgent:  # below 54 lies inside a time below 70
        assert any(
            e["patient"] == u["patient"] and e["start"] <= u["start"] and u["end"] <= e["end"]
            for e in level1
        ), u
    readings = [r for m in out.messages for r in m["payload"]["readings"]]
    values = [r["value"] for r in readings if r["metric"] == "glucose"]
    assert min(values) >= 40
    assert max(values) <= 400
    # Dropouts: some uploads carry more than the 15 minutes' three readings (a backlog).
    assert any(len(m["payload"]["readings"]) > 3 for m in out.messages)


@pytest.mark.slow  # a whole simulation through every detector
def test_the_detectors_catch_its_lows() -> None:
    out = generate_minimal_model(patients=12, days=7, seed=2)
    report = evaluate(EvalData.from_records(out.patients, out.messages, out.truth))
    row = report["events"]["hypoglycemia"]
    assert row["n"] >= 5
    assert row["recall"] >= 0.8, row
    assert report["overall"]["cgm"]["patients"] == 12


def test_the_pump_logs_doses_and_entered_carbs_and_the_plan_holds_believed_settings() -> None:
    """Boluses as injected (a doubled one included), carbohydrate as entered, from the pump's
    own device in the CGM's uploads; the settings come from the ratio, never the true p3."""
    out = generate_minimal_model(patients=6, days=7, seed=2)
    pump = [m for m in out.messages if m["device_id"].endswith("-pump")]
    assert pump
    assert all(
        m["publish_at"] in {c["publish_at"] for c in out.messages if c is not m} for m in pump
    )
    doses = [r["value"] for m in pump for r in m["payload"]["readings"] if r["metric"] == "insulin"]
    carbs = [r["value"] for m in pump for r in m["payload"]["readings"] if r["metric"] == "carbs"]
    assert all(0.05 <= d <= 100 for d in doses)
    assert all(0 < c <= 500 for c in carbs)
    # Dose times carb ratio over entered carbs: 1 for a bolus as calculated, 2 when taken twice.
    ratio = {p["patient"]: p["insulin"]["carb_ratio_g_per_u"] for p in out.patients}
    covered = []
    for m in pump:
        entered = {r["ts"]: r["value"] for r in m["payload"]["readings"] if r["metric"] == "carbs"}
        for r in m["payload"]["readings"]:
            if r["metric"] == "insulin" and r["ts"] in entered:
                covered.append(r["value"] * ratio[m["patient"]] / entered[r["ts"]])
    assert sorted(covered)[len(covered) // 2] == pytest.approx(1.0, abs=0.05)
    assert any(c == pytest.approx(2.0, abs=0.1) for c in covered)
    assert {d["kind"] for d in out.patients[0]["devices"]} == {"cgm", "insulin_pump"}
    # Believed settings do not move with the true sensitivity p3.
    assert Params(gb=130.0).believed_settings() == Params(gb=130.0, p3=2e-5).believed_settings()
