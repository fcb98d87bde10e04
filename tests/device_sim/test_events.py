"""Events: every kind happens in ``stress``, every truth line is visible in its readings, and
``standard`` stays quiet outside its labelled events."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable

import pytest

from tests.device_sim.conftest import ts
from vigil.core import Metric, to_canonical
from vigil.device_sim import SimOutput
from vigil.device_sim.events import PLANNERS

Series = dict[str, list[tuple[float, str, float]]]
"""patient -> [(time, metric, canonical value)] of every intact reading."""

CROSSES: dict[str, tuple[str, Callable[[float], bool]]] = {
    "hypertensive_crisis": ("bp_systolic|bp_diastolic", lambda v: False),
    "hypoglycemia": ("glucose", lambda v: v < 70),
    "hypoglycemia_urgent": ("glucose", lambda v: v < 54),
    "hyperglycemia": ("glucose", lambda v: v > 250),
    "copd_exacerbation": ("spo2", lambda v: v < 90),
    "spo2_low": ("spo2", lambda v: v < 88),
    "misworn_oximeter": ("spo2", lambda v: v < 88),
    "tachycardia": ("heart_rate", lambda v: v > 120),
    "bradycardia": ("heart_rate", lambda v: v < 40),
    "post_exercise_hr": ("heart_rate", lambda v: v >= 110),
    "fever": ("body_temperature", lambda v: v >= 38.0),
    "meal_glucose_peak": ("glucose", lambda v: v >= 180),
}


def _series(out: SimOutput) -> Series:
    series: Series = defaultdict(list)
    for m in out.messages:
        if m["malformed"]:
            continue
        for item in m["payload"]["readings"]:
            t = ts(item["ts"])
            if item["metric"] == "blood_pressure":
                series[m["patient"]] += [
                    (t, "bp_systolic", float(item["systolic"])),
                    (t, "bp_diastolic", float(item["diastolic"])),
                    (t, "heart_rate", float(item["pulse"])),
                ]
            else:
                value = to_canonical(Metric(item["metric"]), item["value"], item["unit"])
                series[m["patient"]].append((t, item["metric"], value))
    return series


@pytest.fixture(scope="module")
def stress_series(stress: SimOutput) -> Series:
    return _series(stress)


@pytest.mark.parametrize("kind", list(PLANNERS))
def test_each_kind_happens_in_stress(stress: SimOutput, kind: str) -> None:
    assert any(e["kind"] == kind for e in stress.truth)


def _inside(series: Series, event: dict[str, object]) -> list[tuple[float, str, float]]:
    start, end = ts(str(event["start"])), ts(str(event["end"]))
    return [r for r in series[str(event["patient"])] if start <= r[0] <= end]


def test_every_truth_line_is_visible_in_the_readings_it_claims(
    stress: SimOutput, stress_series: Series
) -> None:
    for event in stress.truth:
        readings = _inside(stress_series, event)
        kind = str(event["kind"])
        metrics = set(event["metrics"])  # type: ignore[call-overload]
        if kind == "missed_measurements":
            assert readings == [], event
        elif kind == "hypertensive_crisis":
            assert any(
                (m == "bp_systolic" and v >= 180) or (m == "bp_diastolic" and v >= 120)
                for _, m, v in readings
            ), event
        elif kind == "bp_above_target":
            high = [r for r in readings if r[1] == "bp_systolic" and r[2] >= 135]
            high += [r for r in readings if r[1] == "bp_diastolic" and r[2] >= 85]
            assert len(high) >= 3, event
        elif kind in ("hf_decompensation", "winter_clothes_weight"):
            # A jump against the lightest weighing of the days around it.
            start, end = ts(str(event["start"])), ts(str(event["end"]))
            around = [
                v
                for t, m, v in stress_series[str(event["patient"])]
                if m == "body_weight" and start - 3 * 86_400 <= t <= end + 86_400
            ]
            assert any(m == "body_weight" and v >= min(around) + 1.0 for _, m, v in readings), (
                event,
                around,
            )
        else:
            metric, crosses = CROSSES[kind]
            assert metric in metrics
            assert any(m == metric and crosses(v) for _, m, v in readings), event


def test_non_events_are_flagged_and_mild(stress: SimOutput) -> None:
    flags = {e["kind"]: e["non_event"] for e in stress.truth}
    for kind in ("post_exercise_hr", "misworn_oximeter", "meal_glucose_peak"):
        assert flags[kind] is True
    assert flags["winter_clothes_weight"] is True
    assert flags["hypertensive_crisis"] is False


def test_a_cgm_hypoglycaemia_descends_rather_than_jumps(
    stress: SimOutput, stress_series: Series
) -> None:
    checked = 0
    cgm_patients = {p["patient"] for p in stress.patients if "t1d" in p["conditions"]}
    for event in stress.truth:
        if event["kind"] != "hypoglycemia" or event["patient"] not in cgm_patients:
            continue
        trace = sorted({r for r in _inside(stress_series, event) if r[1] == "glucose"})
        low = next(i for i, r in enumerate(trace) if r[2] < 70)
        if low == 0:
            continue  # the sensor was warming up or out of range during the descent
        before = trace[: low + 1]
        steps = [(b[2] - a[2]) / (b[0] - a[0]) * 60 for a, b in itertools.pairwise(before)]
        assert all(abs(s) < 6 for s in steps), before  # mg/dL per minute
        assert before[0][2] > before[-1][2]
        checked += 1
    assert checked >= 2


def test_standard_is_quiet_outside_its_labelled_events(standard: SimOutput) -> None:
    series = _series(standard)
    windows = defaultdict(list)
    for e in standard.truth:
        windows[e["patient"]].append((ts(e["start"]) - 600, ts(e["end"]) + 600))
    alarming = {
        "bp_systolic": lambda v: v >= 180,
        "bp_diastolic": lambda v: v >= 120,
        "glucose": lambda v: v < 70 or v > 250,
        "spo2": lambda v: v < 88,
        "heart_rate": lambda v: v > 120 or v < 40,
        "body_temperature": lambda v: v >= 38.0,
    }
    crossings = 0
    for patient, readings in series.items():
        for t, metric, v in readings:
            rule = alarming.get(metric)
            if rule and rule(v) and not any(a <= t <= b for a, b in windows[patient]):
                crossings += 1
    assert crossings == 0
    assert standard.stats["clamped"] / standard.stats["values"] < 0.005


def test_standard_events_are_realistically_rare(standard: SimOutput) -> None:
    months = len(standard.patients) * (standard.end - standard.start).days / 30
    clinical = [e for e in standard.truth if not e["non_event"]]
    assert len(clinical) / months <= 1.5
    assert len(standard.truth) / months <= 3.0
    per_patient = Counter(e["patient"] for e in clinical)
    assert max(per_patient.values()) <= 8


def test_natural_gaps_are_shorter_than_labelled_silences(standard: SimOutput) -> None:
    series = _series(standard)
    silences = {
        (e["patient"], ts(e["start"]), ts(e["end"]))
        for e in standard.truth
        if e["kind"] == "missed_measurements"
    }
    assert silences
    assert all(end - start >= 3 * 86_400 for _, start, end in silences)
    for patient, readings in series.items():
        times = sorted({t for t, _, _ in readings})
        for a, b in itertools.pairwise(times):
            labelled = any(p == patient and a <= s and b >= e for p, s, e in silences)
            if not labelled:
                assert b - a < 3 * 86_400, (patient, a, b)
