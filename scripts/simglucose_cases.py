"""Type-1 cases from the UVa/Padova simulator (``simglucose``) for ``vigil eval``.

Not part of Vigil and not one of its dependencies: run it in a scratch environment of its own,
with the simulator pinned, and score what it writes with Vigil's own ``vigil eval`` (``$SCRATCH``:
any scratch folder outside the repository)::

    python3 -m venv "$SCRATCH"/venv
    "$SCRATCH"/venv/bin/pip install simglucose==0.2.11
    "$SCRATCH"/venv/bin/python scripts/simglucose_cases.py --seed 1 --out "$SCRATCH"/sg1
    vigil eval --readings "$SCRATCH"/sg1/readings.jsonl --truth "$SCRATCH"/sg1/truth.jsonl \\
        --patients "$SCRATCH"/sg1/patients.jsonl --json

Each seed draws ``--patients`` (6) of the simulator's 30 virtual patients (adolescents, adults,
children) at random, each for 3-5 days from the same start, with the simulator's random meals
(``RandomScenario``). A basal-bolus patient of our own treats them: the basal is the patient's
steady-state insulin, a bolus at each meal is the carbohydrate as the patient judged it
(misjudged by -15 to +35 %) over the patient's carb ratio, plus a correction above 150 mg/dL
from the CGM; 10 % of boluses are missed, 10 % doubled and 4 % tripled. The CGM is a Dexcom
(every 3 minutes) or a GuardianRT (every 5) with the simulator's own noise model (autocorrelated
Johnson-distributed error, about 16 mg/dL SD), reads LOW under 40 mg/dL and HIGH over 400. Half
the patients upload their boluses and entered carbohydrate from a pump, and the patients file
gives them their carb ratio and correction factor (``insulin``). The phone uploads every 15
minutes. The truth is the simulator's plasma glucose at every CGM sample
(``true_glucose_mg_dl``); ``vigil eval`` derives the glucose events from it.

Files written (``docs/formats.md``): ``patients.jsonl``, ``readings.jsonl``, ``truth.jsonl``.
The same seed writes the same files (the simulator, its sensor noise and the meals are seeded).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from simglucose.actuator.pump import InsulinPump
from simglucose.controller.basal_bolus_ctrller import CONTROL_QUEST, PATIENT_PARA_FILE
from simglucose.patient.t1dpatient import Action, T1DPatient
from simglucose.sensor.cgm import CGMSensor
from simglucose.simulation.scenario_gen import RandomScenario

GROUPS = ("adolescent", "adult", "child")
SENSORS = ("Dexcom", "GuardianRT")
DAYS = (3, 5)
CARB_ERROR = (-0.15, 0.35)
MISSED, DOUBLED, TRIPLED = 0.10, 0.10, 0.04
CORRECT_ABOVE, TARGET = 150.0, 140.0
CGM_LOW, CGM_HIGH = 40.0, 400.0
UPLOAD_EVERY_MIN = 15
START = datetime(2026, 3, 2, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cgm_value(v: float) -> float | str:
    if v < CGM_LOW:
        return "LOW"
    if v > CGM_HIGH:
        return "HIGH"
    return round(v)


def _bolus_times(r: float) -> int:
    """How many times the meal's bolus the patient gave: missed, doubled, tripled or once."""
    if r < MISSED:
        return 0
    if r < MISSED + DOUBLED:
        return 2
    return 3 if r < MISSED + DOUBLED + TRIPLED else 1


def simulate(name: str, key: str, rng: random.Random, start: datetime) -> dict[str, Any]:
    """One virtual patient: the CGM's readings, the pump's records and the plasma glucose."""
    params = pd.read_csv(PATIENT_PARA_FILE)
    p = params.loc[params.Name == key].squeeze()
    quest = pd.read_csv(CONTROL_QUEST)
    q = quest.loc[quest.Name == key].squeeze()
    cr, cf = float(q.CR), float(q.CF)
    days = rng.randint(*DAYS)
    sensor_name = rng.choice(SENSORS)
    uploads_pump = rng.random() < 0.5
    patient = T1DPatient(p)
    sensor = CGMSensor.withName(sensor_name, seed=rng.getrandbits(31))
    pump = InsulinPump.withName("Insulet")
    scenario = RandomScenario(start_time=start.replace(tzinfo=None), seed=rng.getrandbits(31))
    basal = float(p.u2ss) * float(p.BW) / 6000  # U/min
    every = int(sensor.sample_time)
    cgm: list[tuple[int, float | str]] = []
    truth: list[tuple[int, float]] = []
    doses: list[tuple[int, str, float]] = []
    last_cgm = float(p.Gb)
    for minute in range(days * 24 * 60):
        now = start.replace(tzinfo=None) + timedelta(minutes=minute)
        meal = float(scenario.get_action(now).meal)
        bolus = 0.0
        if meal > 0:
            judged = round(meal * (1 + rng.uniform(*CARB_ERROR)))
            dose = judged / cr + (last_cgm > CORRECT_ABOVE) * (last_cgm - TARGET) / cf
            r = rng.random()
            times = (
                0
                if r < MISSED
                else 2
                if r < MISSED + DOUBLED
                else 3
                if r < MISSED + DOUBLED + TRIPLED
                else 1
            )
            bolus = pump.bolus(max(dose, 0.0) * times)
            if uploads_pump:
                doses.append((minute, "carbs", float(judged)))
                if bolus > 0:
                    doses.append((minute, "insulin", round(float(bolus), 2)))
        patient.step(Action(insulin=pump.basal(basal) + bolus, CHO=meal))
        if patient.t % every == 0:
            reading = float(sensor.measure(patient))
            last_cgm = reading
            cgm.append((int(patient.t), _cgm_value(reading)))
            truth.append((int(patient.t), float(patient.state[3]) / float(p.Vg)))
    devices = [{"device_id": f"{name}-cgm", "kind": "cgm"}]
    person: dict[str, Any] = {
        "patient": name,
        "conditions": ["t1d"],
        "devices": devices,
        "simglucose": {"patient": key, "sensor": sensor_name, "days": days},
    }
    if uploads_pump:
        devices.append({"device_id": f"{name}-pump", "kind": "insulin_pump"})
        person["insulin"] = {"sensitivity_mg_dl_per_u": round(cf, 1), "carb_ratio_g_per_u": cr}
    return {"person": person, "cgm": cgm, "truth": truth, "doses": doses}


def uploads(name: str, case: dict[str, Any], start: datetime) -> list[dict[str, Any]]:
    """Every 15 minutes the phone sends the CGM's readings since the last upload, and the
    pump's records ahead of them."""
    messages: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    doses = list(case["doses"])
    for minute, value in case["cgm"]:
        t = start + timedelta(minutes=minute)
        pending.append({"ts": _iso(t), "metric": "glucose", "value": value, "unit": "mg/dL"})
        nxt = minute // UPLOAD_EVERY_MIN
        last = minute == case["cgm"][-1][0]
        boundary = last or (minute + case_every(case)) // UPLOAD_EVERY_MIN != nxt
        if not boundary:
            continue
        publish = _iso(start + timedelta(minutes=(nxt + 1) * UPLOAD_EVERY_MIN, seconds=20))
        sent = [d for d in doses if d[0] <= minute]
        doses = [d for d in doses if d[0] > minute]
        if sent:
            messages.append(
                {
                    "publish_at": publish,
                    "patient": name,
                    "device_id": f"{name}-pump",
                    "malformed": False,
                    "payload": {
                        "readings": [
                            {
                                "ts": _iso(start + timedelta(minutes=at)),
                                "metric": metric,
                                "value": amount,
                                "unit": "U" if metric == "insulin" else "g",
                            }
                            for at, metric, amount in sent
                        ]
                    },
                }
            )
        messages.append(
            {
                "publish_at": publish,
                "patient": name,
                "device_id": f"{name}-cgm",
                "malformed": False,
                "payload": {"readings": pending},
            }
        )
        pending = []
    return messages


def case_every(case: dict[str, Any]) -> int:
    cgm = case["cgm"]
    return int(cgm[1][0] - cgm[0][0]) if len(cgm) > 1 else 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=6)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(args.seed)
    keys = [f"{g}#{i:03d}" for g in GROUPS for i in range(1, 11)]
    chosen = rng.sample(keys, args.patients)
    people, messages, truth = [], [], []
    for n, key in enumerate(chosen, 1):
        name = f"sg{args.seed}-{n:02d}"
        case = simulate(name, key, random.Random(rng.getrandbits(64)), START)
        people.append(case["person"])
        messages += uploads(name, case, START)
        truth += [
            {
                "patient": name,
                "time": _iso(START + timedelta(minutes=m)),
                "true_glucose_mg_dl": round(v, 1),
            }
            for m, v in case["truth"]
        ]
        print(f"{name}: {key}, {case['person']['simglucose']}", flush=True)
    messages.sort(
        key=lambda m: (m["publish_at"], m["patient"], m["device_id"] != f"{m['patient']}-pump")
    )
    truth.sort(key=lambda e: (e["time"], e["patient"]))
    args.out.mkdir(parents=True, exist_ok=True)
    for file, rows in (("patients", people), ("readings", messages), ("truth", truth)):
        with (args.out / f"{file}.jsonl").open("w") as out:
            out.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
