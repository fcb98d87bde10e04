"""Scenarios: who the simulated patients are, how often things happen, how devices misbehave.

Event rates are per patient-month, by condition (a patient's rate for a kind is the highest over
their conditions; a kind their conditions do not list never happens to them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.device_sim.models import Condition

ConditionMix = tuple[tuple[tuple[Condition, ...], float], ...]

STANDARD_MIX: ConditionMix = (
    (("hypertension",), 0.25),
    (("t2d", "hypertension"), 0.10),
    (("t2d",), 0.08),
    (("t1d",), 0.10),
    (("heart_failure", "hypertension"), 0.12),
    (("heart_failure",), 0.05),
    (("copd",), 0.15),
    (("healthy",), 0.15),
)

STRESS_MIX: ConditionMix = (
    (("hypertension",), 1 / 7),
    (("t2d", "hypertension"), 1 / 7),
    (("t1d",), 1 / 7),
    (("heart_failure", "hypertension"), 1 / 7),
    (("copd",), 1 / 7),
    (("healthy",), 1 / 7),
    (("heart_failure", "copd"), 1 / 7),
)

STANDARD_RATES: dict[str, dict[Condition, float]] = {
    "hypertensive_crisis": {"hypertension": 0.1},
    "bp_above_target": {"hypertension": 0.15},
    "hypoglycemia": {"t1d": 0.8, "t2d": 0.1},
    "hypoglycemia_urgent": {"t1d": 0.2, "t2d": 0.03},
    "hyperglycemia": {"t1d": 0.4, "t2d": 0.2},
    "hf_decompensation": {"heart_failure": 0.15},
    "copd_exacerbation": {"copd": 0.2},
    "spo2_low": {"copd": 0.05},
    "tachycardia": {"heart_failure": 0.1, "copd": 0.05, "healthy": 0.03},
    "bradycardia": {"heart_failure": 0.05, "healthy": 0.02},
    "fever": {"copd": 0.1, "healthy": 0.1, "heart_failure": 0.05},
    "missed_measurements": {
        "hypertension": 0.1,
        "t1d": 0.1,
        "t2d": 0.1,
        "heart_failure": 0.1,
        "copd": 0.1,
        "healthy": 0.1,
    },
    "post_exercise_hr": {"healthy": 1.0, "heart_failure": 0.3},
    "misworn_oximeter": {"copd": 0.5},
    "meal_glucose_peak": {"t1d": 1.5, "t2d": 0.5},
    "winter_clothes_weight": {"heart_failure": 0.4, "healthy": 0.2},
}


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    mix: ConditionMix
    rates: dict[str, dict[Condition, float]]
    rate_factor: float = 1.0
    every_kind: bool = False
    """Make sure every event kind happens at least once in the run (when some patient can)."""
    offline_per_month: float = 0.5
    """Offline episodes (hours to days, then a backlog upload) per device-month."""
    repeat_rate: float = 0.01
    malformed_rate: float = 0.005
    drift_fraction: float = 0.25
    """Share of devices whose clock is off by seconds to a few minutes."""
    min_gap_h: float = 12.0
    """Least time between two events of one patient."""
    adherence: tuple[float, float] = (0.8, 0.98)
    kind_factor: dict[str, float] = field(default_factory=dict)
    """Per-kind multipliers on top of ``rate_factor``."""

    def rate(self, kind: str, conditions: list[Condition]) -> float:
        by_condition = self.rates.get(kind, {})
        base = max((by_condition.get(c, 0.0) for c in conditions), default=0.0)
        return self.rate_factor * self.kind_factor.get(kind, 1.0) * base


SCENARIOS: dict[str, Scenario] = {
    "standard": Scenario("standard", STANDARD_MIX, STANDARD_RATES),
    "stress": Scenario(
        "stress",
        STRESS_MIX,
        STANDARD_RATES,
        rate_factor=25.0,
        kind_factor={
            "missed_measurements": 0.2,
            "bp_above_target": 0.4,
            "copd_exacerbation": 0.6,
            "meal_glucose_peak": 0.3,
            "post_exercise_hr": 0.3,
        },
        every_kind=True,
        offline_per_month=3.0,
        repeat_rate=0.05,
        malformed_rate=0.03,
        drift_fraction=0.5,
        min_gap_h=6.0,
        adherence=(0.7, 0.95),
    ),
}


def scenario_named(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
