"""Our profile rules, one test each: a resource that breaks the rule, and the rule catches it
(the conforming original breaks none: tests/fhir/test_mapping.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from vigil.clinical.fhir_profiles import ObservationKind
from vigil.core.metrics import Metric
from vigil.fhir import RULES, ObservationRow, observation, violations

AT = datetime(2026, 11, 28, 7, tzinfo=UTC)
P = UUID(int=3)


def _bp() -> dict[str, Any]:
    return observation(
        ObservationRow(
            P,
            AT,
            ObservationKind.BLOOD_PRESSURE,
            "cuff-1",
            {Metric.BP_SYSTOLIC: 150.0, Metric.BP_DIASTOLIC: 95.0},
        )
    )


def _spo2() -> dict[str, Any]:
    return observation(ObservationRow(P, AT, ObservationKind.SPO2, "ox-1", {Metric.SPO2: 90.0}))


def _cgm() -> dict[str, Any]:
    return observation(
        ObservationRow(P, AT, ObservationKind.CGM_GLUCOSE, "cgm-1", {Metric.GLUCOSE: 150.0})
    )


def _status(r: dict[str, Any]) -> None:
    r["status"] = "done"


def _code(r: dict[str, Any]) -> None:
    r["code"]["coding"] = r["code"]["coding"][1:]  # 59408-5 alone: 2708-6 missing


def _category(r: dict[str, Any]) -> None:
    del r["category"]


def _subject(r: dict[str, Any]) -> None:
    r["subject"] = {"reference": "Group/1"}


def _effective(r: dict[str, Any]) -> None:
    del r["effectiveDateTime"]


def _vs2(r: dict[str, Any]) -> None:
    del r["valueQuantity"]


def _vs3(r: dict[str, Any]) -> None:
    del r["component"][1]["valueQuantity"]


def _obs6(r: dict[str, Any]) -> None:
    r["dataAbsentReason"] = {"text": "asked but unknown"}


def _unit(r: dict[str, Any]) -> None:
    r["valueQuantity"]["code"] = "percent"


def _bp_components(r: dict[str, Any]) -> None:
    r["component"] = r["component"][:1] * 2  # two systolic, no diastolic


def _profiles(r: dict[str, Any]) -> None:
    r["meta"]["profile"] = r["meta"]["profile"][:1]  # the HL7 profile without KR Core


def _cgm_category(r: dict[str, Any]) -> None:
    r["category"][0]["coding"][0]["code"] = "vital-signs"


def _cgm_unit(r: dict[str, Any]) -> None:
    r["valueQuantity"]["unit"] = "mg/dL"  # the IG's pattern fixes the text "mg/dl"


def _identifier(r: dict[str, Any]) -> None:
    del r["identifier"]


def _device(r: dict[str, Any]) -> None:
    r["device"] = {"display": "ox-1"}


BREAKS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], None]]] = {
    "obs-status": (_spo2, _status),
    "obs-code": (_spo2, _code),
    "obs-category": (_spo2, _category),
    "vs-subject": (_spo2, _subject),
    "vs-1": (_spo2, _effective),
    "vs-2": (_spo2, _vs2),
    "vs-3": (_bp, _vs3),
    "obs-6": (_spo2, _obs6),
    "vs-unit": (_spo2, _unit),
    "bp-components": (_bp, _bp_components),
    "vs-profiles": (_spo2, _profiles),
    "cgm-category": (_cgm, _cgm_category),
    "cgm-unit": (_cgm, _cgm_unit),
    "vigil-identifier": (_spo2, _identifier),
    "vigil-device": (_spo2, _device),
}


def test_every_rule_has_a_breaking_case() -> None:
    assert sorted(BREAKS) == sorted(rule.name for rule in RULES)


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_resource_that_breaks_the_rule_is_caught(name: str) -> None:
    make, breaks = BREAKS[name]
    good = make()
    assert not [v for v in violations(good) if v.startswith(f"{name}:")]
    bad = copy.deepcopy(good)
    breaks(bad)
    assert [v for v in violations(bad) if v.startswith(f"{name}:")], violations(bad)
