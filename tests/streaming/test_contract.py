"""One contract, run against every detector (as river.checks does for estimators)."""

from __future__ import annotations

import copy
import pickle
import random
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from vigil.clinical import CarePlan
from vigil.core.metrics import SPECS, Metric
from vigil.streaming import Detector, Observation, default_detectors
from vigil.streaming.missing import MissingData
from vigil.streaming.usual import PersonalBaselines

T0 = datetime(2026, 1, 5, tzinfo=UTC)
P1, P2 = UUID(int=1), UUID(int=2)
CONDITIONS = {"hypertension", "t1d", "heart_failure", "copd"}
TYPICAL = {
    Metric.HEART_RATE: (72, 25),
    Metric.SPO2: (93, 4),
    Metric.BP_SYSTOLIC: (140, 30),
    Metric.BP_DIASTOLIC: (85, 20),
    Metric.GLUCOSE: (130, 70),
    Metric.BODY_WEIGHT: (82, 2.5),
    Metric.BODY_TEMPERATURE: (36.9, 0.8),
    Metric.RESPIRATORY_RATE: (18, 5),
    Metric.INSULIN: (4, 3),
    Metric.CARBS: (50, 30),
}


def stream(det: Detector, n: int, seed: int) -> list[Observation]:
    """Observations as the engine makes them, each with the patient's personal baselines as they
    were at that reading (learned from the stream's readings before it)."""
    rng = random.Random(seed)
    plan = CarePlan.default_for(CONDITIONS)
    latest: dict[Metric, tuple[datetime, float]] = {}
    usual = PersonalBaselines()
    out = []
    for i in range(n):
        metric = rng.choice(sorted(det.metrics))
        mean, spread = TYPICAL[metric]
        spec = SPECS[metric]
        if metric in WALKS and metric in latest:
            # A CGM (or a wearable's heart rate) moves from one reading to the next (a wild
            # jump is a sensor artefact that the glucose detectors set aside): a wide random
            # walk.
            low, high, step = WALKS[metric]
            value = latest[metric][1] + rng.gauss(0, step)
            value = min(high, max(low, value + 0.02 * (mean - value)))
        else:
            value = min(spec.high, max(spec.low, rng.gauss(mean, spread)))
        t = T0 + timedelta(minutes=5 * i)
        latest[metric] = (t, value)
        snapshot = copy.deepcopy(usual)
        out.append(Observation(P1, t, metric, value, "dev", t, plan, dict(latest), None, snapshot))
        usual.learn(metric, t, value, UTC)
    return out


WALKS = {Metric.GLUCOSE: (40.0, 400.0, 10.0), Metric.HEART_RATE: (30.0, 200.0, 8.0)}
"""(lowest, highest, step SD) of the metrics that walk."""
DETECTORS = default_detectors()


def names(sentence: str, number: float | None) -> bool:
    """Whether the sentence shows ``number`` as a nurse would read it (rounded or not)."""
    if number is None:
        return False
    shown = {f"{number:.0f}", f"{number:.1f}", f"{number:g}"}
    return any(re.search(rf"(?<![\d.]){re.escape(s)}(?![\d])", sentence) for s in shown)


@pytest.mark.parametrize("det", DETECTORS, ids=[d.name for d in DETECTORS])
def test_score_one_changes_no_state(det: Detector) -> None:
    for obs in stream(det, 300, seed=1):
        before = pickle.dumps(det)
        det.score_one(obs)
        assert pickle.dumps(det) == before
        det.learn_one(obs)


@pytest.mark.parametrize("det", default_detectors(), ids=[d.name for d in DETECTORS])
def test_every_finding_explains_value_and_threshold_or_baseline(det: Detector) -> None:
    found = 0
    for obs in stream(det, 2000, seed=2):
        f = det.score_one(obs)
        det.learn_one(obs)
        if f is None:
            continue
        found += 1
        e = f.explanation
        assert e.sentence.strip().endswith(".")
        assert e.threshold is not None or e.baseline is not None
        # The sentence names the value and the threshold or baseline it was compared with.
        assert e.value is not None
        assert names(e.sentence, e.value), (e.sentence, e.value)
        assert names(e.sentence, e.threshold) or names(e.sentence, e.baseline), e.sentence
        assert f.cause
        assert f.severity > 0
    assert found > 0, f"{det.name} never fired on a wide random stream"


@pytest.mark.parametrize("det", default_detectors(), ids=[d.name for d in DETECTORS])
def test_memory_is_bounded(det: Detector) -> None:
    sizes = []
    for i, obs in enumerate(stream(det, 3000, seed=3)):
        det.score_one(obs)
        det.learn_one(obs)
        if i in (1000, 2999):
            sizes.append(len(pickle.dumps(det)))
    assert sizes[1] <= sizes[0] * 1.1 + 64


def test_missing_data_findings_name_the_gap_and_the_allowance() -> None:
    clock = MissingData()
    for i in range(40):
        clock.seen(P1, "cgm", T0 + timedelta(minutes=5 * i))
    clock.seen(P2, "cuff", T0)
    found = clock.check(T0 + timedelta(days=4))
    assert {f.cause for f in found} == {"missed_measurements"}
    found += MissingData().check(T0)  # nothing known: nothing to say
    for f in found:
        e = f.explanation
        assert names(e.sentence, e.threshold), e.sentence
        assert f"{e.value / 24:.1f} days" in e.sentence
