"""A restart rebuilt from stored history behaves as if the engine had never stopped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vigil.device_sim import generate
from vigil.evaluation.data import EvalData
from vigil.streaming import StreamEngine


@pytest.mark.slow  # a whole simulation through every detector
def test_restore_then_process_gives_the_findings_of_an_engine_that_never_stopped() -> None:
    out = generate("standard", patients=24, days=12, seed=7)
    data = EvalData.from_records(out.patients, out.messages, out.truth)
    cut = data.batches[0].received_at + timedelta(days=8)
    before = [b for b in data.batches if b.received_at < cut]
    after = [b for b in data.batches if b.received_at >= cut]

    running = StreamEngine(plan_for=data.plan_for)
    for batch in before:
        running.process(batch.readings)
    expected = [f for batch in after for f in running.process(batch.readings)]

    restarted = StreamEngine(plan_for=data.plan_for)
    # What storage returns: every reading committed before the restart, per patient in time order.
    history = sorted(
        (r for b in before for r in b.readings), key=lambda r: (str(r.patient_id), r.time)
    )
    assert restarted.restore(iter(history)) == len(history)
    found = [f for batch in after for f in restarted.process(batch.readings)]

    assert len(expected) >= 10
    key = [(f.patient_id, f.cause, f.time, f.explanation.sentence) for f in found]
    assert key == [(f.patient_id, f.cause, f.time, f.explanation.sentence) for f in expected]
