"""Profile rules of the CGM IG's summary (STU 1), one per published constraint.

The summary Observation (``cgm-summary``) and its members (``cgm-summary-*``) are Observations
without a device or a vital-sign code, so they have their own rules beside
:mod:`vigil.fhir.rules`: each names the constraint of the IG it restates.
:func:`summary_violations` checks one resource by the profile it declares;
:func:`members_violations` checks a summary's ``hasMember`` slices against the resources
given with it (a Bundle's).

>>> [v.split(":")[0] for v in summary_violations({"resourceType": "Observation",
...     "meta": {"profile": [CGM_SUMMARY]}})]
['obs-status', 'cgm-code', 'cgm-subject', 'cgm-period', 'cgm-has-member']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from vigil.clinical.fhir_profiles import (
    CGM_SUMMARY,
    CGM_SUMMARY_CODING,
    LOINC,
    SUMMARY_MEMBERS,
    TIME_IN_RANGE_COMPONENTS,
    UCUM,
    SummaryFigure,
    SummarySpec,
)
from vigil.fhir.rules import STATUS_RULE, Rule, violations

Resource = dict[str, Any]

_BY_PROFILE: dict[str, SummarySpec] = {s.profile: s for s in SUMMARY_MEMBERS.values()}
_BY_CODE: dict[str, SummaryFigure] = {s.coding.code: s.figure for s in SUMMARY_MEMBERS.values()}
_OPTIONAL = frozenset({SummaryFigure.MEAN_GLUCOSE})
"""The IG's ``meanGlucoseMassPerVolume`` slice is 0..1; every other member is 1..1."""
MIN_MEMBERS = 6


def _profiles(r: Resource) -> list[str]:
    return list(r.get("meta", {}).get("profile", []))


def _spec(r: Resource) -> SummarySpec | None:
    return next((_BY_PROFILE[p] for p in _profiles(r) if p in _BY_PROFILE), None)


def _is_parent(r: Resource) -> bool:
    return CGM_SUMMARY in _profiles(r)


def _loinc(concept: dict[str, Any] | None) -> set[str]:
    return {
        c.get("code", "") for c in (concept or {}).get("coding", []) if c.get("system") == LOINC
    }


def _code(r: Resource) -> str | None:
    spec = _spec(r)
    wanted = CGM_SUMMARY_CODING.code if _is_parent(r) else spec.coding.code if spec else None
    if wanted is not None and wanted not in _loinc(r.get("code")):
        return f"code must carry LOINC {wanted} (the profile's pattern)"
    return None


def _subject(r: Resource) -> str | None:
    if not r.get("subject", {}).get("reference", "").startswith("Patient/"):
        return "subject 1..1 must reference the Patient"
    return None


def _period(r: Resource) -> str | None:
    period = r.get("effectivePeriod", {})
    if not period.get("start") or not period.get("end"):
        return "effectivePeriod 1..1 with start 1..1 and end 1..1 (the reporting period)"
    return None


def _has_member(r: Resource) -> str | None:
    if _is_parent(r) and len(r.get("hasMember", [])) < MIN_MEMBERS:
        return f"a summary has at least {MIN_MEMBERS} hasMember references"
    return None


def _quantity(r: Resource) -> str | None:
    spec = _spec(r)
    if spec is None or spec.ucum is None:
        return None
    q = r.get("valueQuantity")
    if q is None or not isinstance(q.get("value"), int | float):
        return "valueQuantity 1..1 with a value"
    if (q.get("system"), q.get("code"), q.get("unit")) != (UCUM, spec.ucum, spec.unit):
        return f"valueQuantity must be UCUM {spec.ucum} with unit {spec.unit!r} (the pattern)"
    return None


def _ranges(r: Resource) -> str | None:
    spec = _spec(r)
    if spec is None or spec.figure is not SummaryFigure.TIMES_IN_RANGES:
        return None
    for coding in TIME_IN_RANGE_COMPONENTS.values():
        found = [c for c in r.get("component", []) if coding.code in _loinc(c.get("code"))]
        if len(found) != 1:
            return f"the times-in-ranges panel needs exactly one {coding.code} component"
        q = found[0].get("valueQuantity", {})
        if (q.get("system"), q.get("code"), q.get("unit")) != (UCUM, "%", "%"):
            return f"component {coding.code} must be a UCUM % quantity"
        if not isinstance(q.get("value"), int | float):
            return f"component {coding.code} needs a value"
    return None


SUMMARY_RULES: tuple[Rule, ...] = (
    STATUS_RULE,
    Rule("cgm-code", "cgm-summary and each member: code pattern (LOINC, STU 1)", _code),
    Rule("cgm-subject", "CGM IG ObservationBase: subject 1..1", _subject),
    Rule("cgm-period", "CGM IG CGMSummaryBase: effectivePeriod 1..1, start and end 1..1", _period),
    Rule("cgm-has-member", "cgm-summary: hasMember 6..*", _has_member),
    Rule("cgm-quantity", "cgm-summary members: valueQuantity 1..1 and its pattern", _quantity),
    Rule("cgm-ranges", "cgm-summary-times-in-ranges: five components 1..1, each %", _ranges),
)


def summary_violations(resource: Resource) -> list[str]:
    """Every summary rule a summary or member Observation breaks, as ``name: reason``."""
    return violations(resource, SUMMARY_RULES)


def members_violations(resources: Iterable[Resource]) -> list[str]:
    """``cgm-members`` (cgm-summary's hasMember slices, discriminated by the code of what each
    reference resolves to): every reference resolved among ``resources``, each member profile
    once (mean glucose at most once), in the same period as the summary."""
    given = list(resources)
    by_ref = {f"{r['resourceType']}/{r['id']}": r for r in given}
    out = []
    for parent in (r for r in given if _is_parent(r)):
        counts: Counter[SummaryFigure] = Counter()
        for ref in parent.get("hasMember", []):
            member = by_ref.get(ref.get("reference", ""))
            if member is None:
                out.append(f"cgm-members: {ref.get('reference')} is not in the Bundle")
                continue
            figure = next((_BY_CODE[c] for c in _loinc(member.get("code")) if c in _BY_CODE), None)
            if figure is not None:
                counts[figure] += 1
            if member.get("effectivePeriod") != parent.get("effectivePeriod"):
                out.append(f"cgm-members: {ref.get('reference')} is not the summary's period")
        for figure in SummaryFigure:
            low = 0 if figure in _OPTIONAL else 1
            if not low <= counts[figure] <= 1:
                out.append(f"cgm-members: slice {figure.value} {low}..1, found {counts[figure]}")
    return out
