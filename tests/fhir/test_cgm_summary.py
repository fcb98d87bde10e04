"""The CGM IG's summary (STU 1): the summary and its six members structurally valid (R4B),
meeting the IG's rules, and each rule caught on a resource that breaks it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from tests.fhir.validation import assert_valid_r4b
from vigil.clinical.fhir_profiles import CGM_SUMMARY, SUMMARY_MEMBERS, SummaryFigure
from vigil.fhir import collection, members_violations, summary, summary_violations
from vigil.fhir.cgm_rules import SUMMARY_RULES

PATIENT = UUID(int=7)
END = datetime(2026, 11, 30, 15, tzinfo=UTC)
AGP: dict[str, Any] = {
    "mean_mg_dl": 154.23,
    "gmi_percent": 6.999,
    "cv_percent": 33.14159,
    "active_percent": 91.5,
    "daily": [{"day": "2026-11-17", "readings": 288}] * 12 + [{"day": "x", "readings": 0}],
    "start": END - timedelta(days=14),
    "end": END,
    "time_in_ranges": {
        "below_54": 0.0123,
        "54_69": 0.0311,
        "70_180": 0.7,
        "181_250": 0.2,
        "above_250": 0.0566,
    },
}


def _figures(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["code"]["coding"][0]["code"]: r for r in resources}


def test_the_summary_and_its_members_are_valid_r4b_and_meet_the_igs_rules() -> None:
    resources = summary(PATIENT, AGP)
    assert len(resources) == 7
    parent, *members = resources
    assert parent["meta"]["profile"] == [CGM_SUMMARY]
    assert [m["meta"]["profile"][0] for m in members] == [
        s.profile for s in SUMMARY_MEMBERS.values()
    ]
    assert [h["reference"] for h in parent["hasMember"]] == [
        f"Observation/{m['id']}" for m in members
    ]
    for r in resources:
        assert_valid_r4b(r)
        assert summary_violations(r) == [], r
    assert members_violations(resources) == []
    assert_valid_r4b(collection("https://vigil.example/fhir/r4", resources))
    by_code = _figures(members)
    assert by_code["97507-8"]["valueQuantity"] == {
        "value": 154.2, "unit": "mg/dl", "system": "http://unitsofmeasure.org", "code": "mg/dL"
    }  # fmt: skip
    tir = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
           for c in by_code["106793-3"]["component"]}  # fmt: skip
    assert tir == {"104642-4": 1.23, "104641-6": 3.11, "97510-2": 70.0, "104640-8": 20.0,
                   "104639-0": 5.66}  # fmt: skip
    assert by_code["97506-0"]["valueQuantity"]["value"] == 7.0
    assert by_code["104638-2"]["valueQuantity"]["value"] == 33.14
    assert by_code["104636-6"]["valueQuantity"] == {
        "value": 12, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"
    }  # fmt: skip
    assert by_code["104637-4"]["valueQuantity"]["value"] == 91.5


def test_the_same_period_gives_the_same_ids_and_another_period_others() -> None:
    again = [r["id"] for r in summary(PATIENT, AGP)]
    assert again == [r["id"] for r in summary(PATIENT, AGP)]
    later = [r["id"] for r in summary(PATIENT, AGP | {"end": END + timedelta(days=1)})]
    assert not set(again) & set(later)
    assert len(set(again)) == 7


@pytest.mark.parametrize("missing", ["mean_mg_dl", "gmi_percent", "cv_percent"])
def test_no_summary_without_the_figures_the_profile_requires(missing: str) -> None:
    assert summary(PATIENT, AGP | {missing: None}) == []


def _parent() -> list[dict[str, Any]]:
    return summary(PATIENT, AGP)


def _member(figure: SummaryFigure) -> Callable[[], list[dict[str, Any]]]:
    index = 1 + list(SUMMARY_MEMBERS).index(figure)
    return lambda: [summary(PATIENT, AGP)[index]]


def _status(rs: list[dict[str, Any]]) -> None:
    rs[0]["status"] = "done"


def _code(rs: list[dict[str, Any]]) -> None:
    rs[0]["code"]["coding"][0]["code"] = "104643-2"  # the ballot's code, not STU 1's


def _subject(rs: list[dict[str, Any]]) -> None:
    rs[0]["subject"] = {"reference": "Group/1"}


def _period(rs: list[dict[str, Any]]) -> None:
    del rs[0]["effectivePeriod"]["end"]


def _has_member(rs: list[dict[str, Any]]) -> None:
    rs[0]["hasMember"] = rs[0]["hasMember"][:5]


def _unit_text(rs: list[dict[str, Any]]) -> None:
    rs[0]["valueQuantity"]["unit"] = "mg/dL"  # the pattern fixes "mg/dl"


def _ranges(rs: list[dict[str, Any]]) -> None:
    del rs[0]["component"][2]  # no time in target


BREAKS: dict[str, tuple[Callable[[], list[dict[str, Any]]], Callable[[Any], None]]] = {
    "obs-status": (_parent, _status),
    "cgm-code": (_parent, _code),
    "cgm-subject": (_member(SummaryFigure.GMI), _subject),
    "cgm-period": (_member(SummaryFigure.CV), _period),
    "cgm-has-member": (_parent, _has_member),
    "cgm-quantity": (_member(SummaryFigure.MEAN_GLUCOSE), _unit_text),
    "cgm-ranges": (_member(SummaryFigure.TIMES_IN_RANGES), _ranges),
}


def test_every_summary_rule_has_a_breaking_case() -> None:
    assert sorted(BREAKS) == sorted(rule.name for rule in SUMMARY_RULES)


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_summary_resource_that_breaks_the_rule_is_caught(name: str) -> None:
    make, breaks = BREAKS[name]
    good = make()
    assert not [v for v in summary_violations(good[0]) if v.startswith(f"{name}:")]
    bad = copy.deepcopy(good)
    breaks(bad)
    assert [v for v in summary_violations(bad[0]) if v.startswith(f"{name}:")]


def test_cgm_members_catches_a_missing_a_doubled_and_an_other_period_member() -> None:
    good = summary(PATIENT, AGP)
    missing = [r for r in good if r["code"]["coding"][0]["code"] != "97506-0"]  # no GMI
    assert any("not in the Bundle" in v for v in members_violations(missing))
    assert any("slice gmi 1..1, found 0" in v for v in members_violations(missing))
    doubled = copy.deepcopy(good)
    doubled[3]["code"] = copy.deepcopy(doubled[4]["code"])  # GMI coded as CV
    assert any("slice cv 1..1, found 2" in v for v in members_violations(doubled))
    shifted = copy.deepcopy(good)
    shifted[5]["effectivePeriod"]["start"] = END.isoformat()
    assert any("not the summary's period" in v for v in members_violations(shifted))
    no_mean = [good[0] | {"hasMember": good[0]["hasMember"][1:]}, *good[2:]]
    assert members_violations(no_mean) == []  # mean glucose is the IG's 0..1 slice
