"""`vigil bench detect`: cost of the full detector set per reading, and state per patient.

The mix is the simulator's ``standard`` scenario (every condition and device, backlog uploads
included), parsed beforehand so that only detection is timed: ``StreamEngine.process`` on each
message's readings plus the clock's missing-data ticks every 15 minutes of publish time, as
`vigil eval` runs them. State per patient is the length of the pickled per-patient state (its
detectors, latest values, care plan and missing-data clock), averaged over patients.
"""

from __future__ import annotations

import pickle
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

from vigil.streaming.engine import StreamEngine
from vigil.streaming.eval_data import EvalData


def run_bench(
    *, patients: int = 100, days: int = 14, seed: int = 1, rounds: int = 3
) -> dict[str, Any]:
    from vigil.device_sim import generate

    out = generate("standard", patients=patients, days=days, seed=seed)
    data = EvalData.from_records(out.patients, out.messages, out.truth)
    readings = sum(len(b.readings) for b in data.batches)
    timings = []
    engine = StreamEngine(plan_for=data.plan_for)
    for _ in range(rounds):
        engine = StreamEngine(plan_for=data.plan_for)
        started = time.perf_counter()
        _drive(engine, data)
        timings.append(time.perf_counter() - started)
    sizes = [
        len(pickle.dumps((state, engine.missing.patients.get(pid))))
        for pid, state in engine.patients.items()
    ]
    return {
        "us_per_reading": round(min(timings) / readings * 1e6, 2),
        "state_bytes_per_patient": round(statistics.mean(sizes)),
        "state_bytes_max": max(sizes),
        "state_measure": "pickle length",
        "readings": readings,
        "patients": patients,
        "days": days,
    }


def _drive(engine: StreamEngine, data: EvalData, tick: timedelta = timedelta(minutes=15)) -> None:
    next_tick: datetime | None = None
    for batch in data.batches:
        if next_tick is None:
            next_tick = batch.received_at + tick
        while batch.received_at >= next_tick:
            engine.tick(next_tick)
            next_tick += tick
        engine.process(batch.readings)
