"""Statistical checks of the generators: baselines, circadian shape and noise, over many seeds."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict

import pytest

from tests.device_sim.conftest import ts
from vigil.core import Metric, to_canonical
from vigil.device_sim import SimOutput, generate
from vigil.device_sim.physiology import Physiology
from vigil.device_sim.profiles import make_patient
from vigil.device_sim.scenarios import SCENARIOS

START = 1_767_571_200  # 2026-01-05T00:00Z


def _patients(n: int) -> list[Physiology]:
    out = []
    for seed in range(n):
        rng = random.Random(seed)
        patient = make_patient(rng, seed, SCENARIOS["standard"])
        out.append(Physiology(patient, rng, START, 3))
    return out


@pytest.fixture(scope="module")
def many() -> list[Physiology]:
    return _patients(600)


def _by(many: list[Physiology], condition: str) -> list[Physiology]:
    return [p for p in many if condition in p.patient.conditions]


def test_baselines_are_personal_and_in_their_stated_ranges(many: list[Physiology]) -> None:
    hypertensive = [p.patient.baselines for p in _by(many, "hypertension")]
    assert all(112 <= b.systolic <= 126 and 68 <= b.diastolic <= 80 for b in hypertensive)
    assert statistics.pstdev(b.systolic for b in hypertensive) > 2.5
    healthy = [p.patient.baselines for p in _by(many, "healthy")]
    assert 66 <= statistics.mean(b.heart_rate for b in healthy) <= 74
    assert statistics.pstdev(b.heart_rate for b in healthy) > 4
    assert all(95.5 <= b.spo2 <= 99 for b in healthy)
    copd = [p.patient.baselines for p in _by(many, "copd")]
    assert all(92.5 <= b.spo2 <= 95.5 and 16 <= b.respiratory_rate <= 21 for b in copd)
    assert statistics.mean(b.heart_rate for b in copd) > statistics.mean(
        b.heart_rate for b in healthy
    )
    ages = [p.patient.age for p in _by(many, "heart_failure")]
    assert min(ages) >= 55


def _at_local(phys: Physiology, hour: float) -> int:
    return START + DAY + int((hour - phys.patient.utc_offset_h) * 3600) % DAY


DAY = 86_400


def test_circadian_rhythm_has_a_morning_bp_surge_and_a_night_hr_dip(
    many: list[Physiology],
) -> None:
    surge = [
        p.base(Metric.BP_SYSTOLIC, _at_local(p, 8)) - p.base(Metric.BP_SYSTOLIC, _at_local(p, 20))
        for p in many
    ]
    assert 5 <= statistics.mean(surge) <= 9
    dip = [
        p.base(Metric.HEART_RATE, _at_local(p, 15)) - p.base(Metric.HEART_RATE, _at_local(p, 3.5))
        for p in many
    ]
    assert all(8 <= d <= 14 for d in dip)
    warm = [
        p.base(Metric.BODY_TEMPERATURE, _at_local(p, 17))
        - p.base(Metric.BODY_TEMPERATURE, _at_local(p, 5))
        for p in many
    ]
    assert 0.35 <= statistics.mean(warm) <= 0.65


def _values(out: SimOutput) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(patient, metric) -> [(local hour, canonical value)], outside every truth window."""
    offset = {p["patient"]: p["utc_offset_hours"] for p in out.patients}
    windows = defaultdict(list)
    for e in out.truth:
        windows[e["patient"]].append((ts(e["start"]) - 3600, ts(e["end"]) + 3600))
    values: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for m in out.messages:
        if m["malformed"]:
            continue
        patient = m["patient"]
        for item in m["payload"]["readings"]:
            t = ts(item["ts"])
            if any(a <= t <= b for a, b in windows[patient]):
                continue
            hour = ((t / 3600) + offset[patient]) % 24
            if item["metric"] == "blood_pressure":
                values[patient, "bp_systolic"].append((hour, item["systolic"]))
                values[patient, "bp_pulse"].append((hour, item["pulse"]))
            else:
                v = to_canonical(Metric(item["metric"]), item["value"], item["unit"])
                source = m["device_id"].rsplit("-", 1)[1]
                values[patient, f"{item['metric']}:{source}"].append((hour, v))
    return values


# Seeds 12 and 13 each generate a whole run of their own: in `make test`, not the fast loop.
@pytest.fixture(
    scope="module",
    params=[11, pytest.param(12, marks=pytest.mark.slow), pytest.param(13, marks=pytest.mark.slow)],
)
def values(
    request: pytest.FixtureRequest, standard: SimOutput
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Readings of three independent runs (seed 11 is the shared ``standard`` run)."""
    seed: int = request.param
    if seed == 11:
        return _values(standard)
    return _values(generate("standard", patients=80, days=21, seed=seed))


def test_emitted_readings_show_the_circadian_shape(
    values: dict[tuple[str, str], list[tuple[float, float]]],
) -> None:
    surges = []
    for (_, metric), series in values.items():
        if metric != "bp_systolic":
            continue
        morning = [v for h, v in series if 6 <= h < 9.5]
        evening = [v for h, v in series if 19 <= h < 22.5]
        if len(morning) >= 8 and len(evening) >= 8:
            surges.append(statistics.mean(morning) - statistics.mean(evening))
    assert len(surges) >= 10
    assert 2 <= statistics.mean(surges) <= 10
    dips = []
    for (_, metric), series in values.items():
        if metric != "heart_rate:hr":
            continue
        night = [v for h, v in series if 1 <= h < 5]
        day = [v for h, v in series if 10 <= h < 18]
        dips.append(statistics.mean(day) - statistics.mean(night))
    assert len(dips) >= 5
    assert all(d >= 6 for d in dips)


def test_measurement_noise_matches_the_device_class(
    values: dict[tuple[str, str], list[tuple[float, float]]],
) -> None:
    def spread(metric: str, hours: tuple[float, float]) -> list[float]:
        out = []
        for (_, m), series in values.items():
            chosen = [v for h, v in series if hours[0] <= h < hours[1]]
            if m == metric and len(chosen) >= 10:
                out.append(statistics.pstdev(chosen))
        return out

    bp = spread("bp_systolic", (6, 9.5))
    assert bp
    assert 4.5 <= statistics.median(bp) <= 10  # cuff + visit-to-visit variability
    spo2 = spread("spo2:ox", (0, 24))
    assert spo2
    assert 0.6 <= statistics.median(spo2) <= 2.0  # oximeter ARMS about 2 %
    weight = spread("body_weight:scale", (0, 24))
    assert weight
    assert 0.2 <= statistics.median(weight) <= 0.7  # day-to-day fluid shifts
    cgm = [
        statistics.pstdev(v for _, v in s) / statistics.mean(v for _, v in s)
        for (_, m), s in values.items()
        if m == "glucose:cgm"
    ]
    assert cgm
    assert 0.15 <= statistics.median(cgm) <= 0.36  # CV of a well-managed type 1 CGM trace
