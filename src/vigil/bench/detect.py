"""`vigil bench detect`: cost of the full detector set per reading, and state per patient.

The mix is the simulator's ``standard`` scenario (every condition and device, backlog uploads
included), parsed beforehand so that only detection is timed: ``StreamEngine.process`` on each
message's readings plus the clock's missing-data ticks every 15 minutes of publish time, as
`vigil eval` runs them. State per patient is the in-memory size of every patient's state (its
detectors, personal baselines, latest values, care plan and missing-data clock) by a deep
``sys.getsizeof`` that follows containers, ``__dict__`` and ``__slots__``, counts shared
singletons (enum members, classes) as nothing and what patients share (one care plan object per
distinct plan, detectors without state of their own) once, over the patients; the largest
patient alone (its plan included) is printed too, and the mean of patients measured alone (what
the bench measured before plans were shared), with the bytes by part (each detector class,
the baselines, the latest values, the plan, the clock) and the pickle length a patient (what a
checkpoint would take).

The cost per reading is the minimum over ``rounds`` runs (each run's figure is printed too).
RSS at ``rss_patients`` patients: the process's resident memory once the measured patients'
states, copied (the whole set through one pickle at a time, so a copy shares only what the
patients of one engine share), are held for that many patients, as one detect process would
hold them; the resident memory before the copies and the growth per patient are printed beside
it.
"""

from __future__ import annotations

import gc
import os
import pickle
import resource
import sys
import time
from collections import deque
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from uuid import uuid4

from vigil.evaluation.data import EvalData
from vigil.streaming.engine import StreamEngine


def run_bench(
    *,
    patients: int = 100,
    days: int = 14,
    seed: int = 1,
    rounds: int = 3,
    rss_patients: int = 0,
) -> dict[str, Any]:
    from vigil.device_sim import generate

    load_avg = os.getloadavg()[0]
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
    states = [(state, engine.missing.patients.get(pid)) for pid, state in engine.patients.items()]
    shared: set[int] = {id(det) for det in engine.detectors.templates}
    parts: dict[str, int] = {}
    total = sum(_sizes(s, shared, parts) for s in states)
    alone = [deep_sizeof(s, {id(det) for det in engine.detectors.templates}) for s in states]
    state_max, state_alone = max(alone), round(sum(alone) / len(alone))
    blob = pickle.dumps(states)
    del shared, alone  # the measurement's own sets: freed before the RSS is read
    gc.collect()
    return {
        "us_per_reading": round(min(timings) / readings * 1e6, 2),
        "us_per_reading_runs": [round(t / readings * 1e6, 2) for t in timings],
        "state_bytes_per_patient": round(total / len(states)),
        "state_bytes_max": state_max,
        "state_bytes_alone_per_patient": state_alone,
        "state_bytes_by_part": {
            k: round(v / len(states)) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
        },
        "state_measure": "deep sizeof",
        "pickled_bytes_per_patient": round(len(blob) / len(states)),
        "readings": readings,
        "patients": patients,
        "days": days,
        "load_avg_1m_at_start": round(load_avg, 2),
        **(rss_at(rss_patients, blob, len(states)) if rss_patients else {}),
    }


def _sizes(state: tuple[Any, Any], seen: set[int], parts: dict[str, int]) -> int:
    """Bytes of one patient's state not already counted in ``seen``, added to ``parts`` by
    part (each detector class, the baselines, the latest values, the plan, the clock)."""
    patient, clock = state
    named: list[tuple[str, object]] = [
        ("care plan", patient.plan),
        ("personal baselines", patient.usual),
        ("latest values", patient.latest),
        ("missing-data clock", clock),
    ]
    named += [(type(det).__name__, det) for det in patient.detectors if det is not None]
    size = sys.getsizeof(patient) + sys.getsizeof(patient.detectors)
    seen.update((id(patient), id(patient.detectors), id(state)))
    parts["patient record"] = parts.get("patient record", 0) + size
    for name, obj in named:
        part = deep_sizeof(obj, seen)
        parts[name] = parts.get(name, 0) + part
        size += part
    return size


def rss_at(count: int, blob: bytes, per_blob: int) -> dict[str, Any]:
    """Resident memory with ``count`` patients' states held (copies of the ``per_blob``
    patients' states pickled in ``blob``)."""
    before = rss_bytes()
    held: dict[Any, Any] = {}
    while len(held) < count:
        for state in pickle.loads(blob)[: count - len(held)]:  # noqa: S301
            held[uuid4()] = state
    after = rss_bytes()
    figures = {
        "rss_patients": len(held),
        "rss_mb_before": round(before / 2**20, 1),
        "rss_mb_at_patients": round(after / 2**20, 1),
        "rss_bytes_per_patient": round((after - before) / count),
    }
    del held
    return figures


def rss_bytes() -> int:
    """This process's resident memory now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _drive(engine: StreamEngine, data: EvalData, tick: timedelta = timedelta(minutes=15)) -> None:
    next_tick: datetime | None = None
    for batch in data.batches:
        if next_tick is None:
            next_tick = batch.received_at + tick
        while batch.received_at >= next_tick:
            engine.tick(next_tick)
            next_tick += tick
        engine.process(batch.readings)


def deep_sizeof(obj: object, seen: set[int] | None = None) -> int:
    """Bytes held by ``obj`` and everything it refers to, each object counted once.

    >>> deep_sizeof([1.5, 1.5]) == sys.getsizeof([]) + 2 * 8 + sys.getsizeof(1.5)
    True
    """
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, type | Enum):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_sizeof(k, seen) + deep_sizeof(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset | deque):  # arrays: getsizeof is all
        size += sum(deep_sizeof(item, seen) for item in obj)
    if hasattr(obj, "__dict__"):
        size += deep_sizeof(vars(obj), seen)
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if hasattr(obj, slot):
                size += deep_sizeof(getattr(obj, slot), seen)
    return size
