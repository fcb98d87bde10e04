"""The glucose rules share one noise-aware filter per patient, learned once a reading, and the
filter's one-pass ``learn`` takes each reading in as its ``posterior`` and ``in_artefact`` say
(the specification it was written from, kept here as the oracle)."""

from __future__ import annotations

import math
import pickle
import random
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from vigil.clinical import CarePlan
from vigil.clinical.careplan import sudden_glucose_fall
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.streaming import StreamEngine
from vigil.streaming.forecast import PredictedLow
from vigil.streaming.glucose_filter import GlucoseFilter
from vigil.streaming.thresholds import GlucoseOutOfRange

T0 = datetime(2026, 1, 5, tzinfo=UTC)
T1D = CarePlan.default_for({"t1d"})


def cgm(values: list[float], start: datetime = T0) -> list[StoredReading]:
    patient = uuid4()
    return [
        StoredReading(start + timedelta(minutes=5 * i), patient, Metric.GLUCOSE, v, "cgm-1", T0)
        for i, v in enumerate(values)
    ]


def test_a_patients_glucose_rules_hold_one_filter_that_learns_each_reading_once() -> None:
    engine = StreamEngine(plan_for=lambda _p: T1D)
    readings = cgm([120 - 2 * i for i in range(20)])
    pump = StoredReading(
        T0 - timedelta(hours=1), readings[0].patient_id, Metric.INSULIN, 2.0, "pump-1", T0
    )  # the forecast is built first, at a pump's record
    engine.process([pump])
    for r in readings:
        engine.process([r])
    ranges = engine.own_detector(readings[0].patient_id, GlucoseOutOfRange)
    forecast = engine.own_detector(readings[0].patient_id, PredictedLow)
    assert ranges is not None
    assert forecast is not None
    assert ranges.filter is forecast.filter
    assert ranges.filter.n == 20  # each reading once (no gap, no compression)
    alone = GlucoseFilter()
    for r in readings:
        alone.learn(r.time.timestamp(), r.value)
    assert ranges.filter.state() == alone.state()
    # a checkpoint keeps the one filter one
    copy = pickle.loads(pickle.dumps(engine.patients[readings[0].patient_id]))  # noqa: S301
    own = [d for d in copy.detectors if isinstance(d, GlucoseOutOfRange | PredictedLow)]
    assert len(own) == 2
    assert own[0].filter is own[1].filter


def _learn_by_spec(f: GlucoseFilter, t: float, v: float) -> None:
    """What ``learn`` does, in the terms of the filter's other methods (the earlier code)."""
    if not math.isnan(f.last_t) and t <= f.last_t:
        return
    if not math.isnan(f.last_t) and sudden_glucose_fall((f.last_t, f.last_v), (t, v)):
        f.artefact_since, f.artefact_before = t, f.last_v
    elif not math.isnan(f.artefact_since) and not f.in_artefact(t, v):
        if t - f.artefact_since > f.artefact_hold_s:
            f.n = 0
        f.artefact_since = f.artefact_before = math.nan
    if not f.in_artefact(t, v):
        continues = f._continues(t)
        f._learn_drift(t, v, continues)
        if continues:
            prior = f._prior(t)
            level, _, drift, p00, _, _, p02, _, p22 = prior
            surprise = (v - level - drift) ** 2 - p00 - 2 * p02 - p22
            var = (1 - f.noise_weight) * f.noise_sd**2 + f.noise_weight * surprise
            lo, hi = f.noise_range
            f.noise_sd = min(max(math.sqrt(max(var, 0.0)), lo), hi)
            full = f._update(prior, v)
            assert full[:2] + full[3:6] == f.posterior(t, v)[:5]
        else:
            full = f._start(v)
        f.level, f.rate, f.drift, f.p00, f.p01, f.p11, f.p02, f.p12, f.p22 = full
        f.n = f.n + 1 if continues else 1
        f.t = t
    f.last_t, f.last_v = t, v


def test_learn_is_its_specification_to_the_last_bit() -> None:
    """Noise, compression steps that come back or are held too long, gaps past 30 minutes,
    repeated and late readings: the same floats."""
    for seed in range(40):
        rng = random.Random(seed)
        fast, spec = GlucoseFilter(), GlucoseFilter()
        t, v = 0.0, 120.0
        for _ in range(300):
            t += rng.choice([300.0, 300.0, 300.0, 60.0, 0.0, -300.0, 2400.0, 5000.0])
            v = max(40.0, v + rng.gauss(0, 6))
            value = v - rng.choice([0.0, 0.0, 0.0, 0.0, 45.0])  # now and then a compression
            fast.learn(t, value)
            _learn_by_spec(spec, t, value)
            assert pickle.dumps(fast) == pickle.dumps(spec), seed
        assert spec.n > 0


def test_the_part_of_day_is_astimezones_for_every_zone() -> None:
    """The fixed-offset fast path (an addition) against ``astimezone``: offsets east and west,
    half and quarter hours, a zone with daylight saving, times not in UTC."""
    from zoneinfo import ZoneInfo

    from vigil.streaming.usual import part_of_day

    zones = [UTC, ZoneInfo("America/New_York")] + [
        timezone(timedelta(minutes=m)) for m in (-600, -210, 0, 330, 345, 540, 765)
    ]
    rng = random.Random(3)
    for _ in range(2000):
        t = T0 + timedelta(seconds=rng.uniform(0, 400 * 86400))
        for when in (t, t.astimezone(timezone(timedelta(hours=2)))):
            for zone in zones:
                assert part_of_day(when, zone) == when.astimezone(zone).hour // 6
