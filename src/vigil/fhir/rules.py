"""Profile rules, one per published constraint, checked on what Vigil exports.

No HL7 validator runs here (it needs Maven and the FHIR package registry), and the structural
models (``fhir.resources``) check types and cardinalities of the base resource only. These
rules restate, one each, the constraints of the profiles we declare (HL7 FHIR R4 Vital Signs
``vitalsigns`` and its children, KR Core 2.0.0 ``krcore-vitalsigns``, the CGM IG's sensor
reading), so a change that breaks one is caught by name. Each rule names its source.

>>> [v.split(":")[0] for v in violations({"resourceType": "Observation", "status": "done"})]
['obs-status', 'obs-code', 'vs-subject', 'vs-1', 'vigil-identifier', 'vigil-device']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vigil.clinical.fhir_profiles import (
    BP_COMPONENTS,
    CGM_MG_DL_UNIT,
    CGM_SENSOR_READING,
    KINDS,
    KRCORE_VITALSIGNS,
    LABORATORY,
    OBSERVATION_CATEGORY,
    UCUM,
    VITAL_SIGNS,
    ObservationKind,
)

Resource = dict[str, Any]

OBSERVATION_STATUS = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")

_VS_UNITS: dict[ObservationKind, frozenset[str]] = {
    ObservationKind.HEART_RATE: frozenset({"/min"}),
    ObservationKind.SPO2: frozenset({"%"}),
    ObservationKind.BODY_WEIGHT: frozenset({"kg", "g", "[lb_av]"}),
    ObservationKind.BODY_TEMPERATURE: frozenset({"Cel", "[degF]"}),
    ObservationKind.RESPIRATORY_RATE: frozenset({"/min"}),
    ObservationKind.CGM_GLUCOSE: frozenset({"mg/dL"}),
}
"""The units each HL7 profile's valueQuantity.code binds (required); the CGM IG: mg/dL."""

_PROFILE_KIND = {p: k.kind for k in KINDS.values() for p in k.profiles[:1]}


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    source: str
    check: Callable[[Resource], str | None]
    """None: the resource meets it (or the rule does not apply)."""


def _codes(concept: dict[str, Any] | None, system: str) -> set[str]:
    return {
        c.get("code", "") for c in (concept or {}).get("coding", []) if c.get("system") == system
    }


def _kind(r: Resource) -> ObservationKind | None:
    """The kind the declared profile names; without one, the kind the first code names."""
    for profile in r.get("meta", {}).get("profile", []):
        if profile in _PROFILE_KIND:
            return _PROFILE_KIND[profile]
    codings = r.get("code", {}).get("coding", [])
    first = codings[0].get("code") if codings else None
    return next((k.kind for k in KINDS.values() if not k.profiles and k.loinc == first), None)


def _is_vital(r: Resource) -> bool:
    kind = _kind(r)
    return kind is not None and KINDS[kind].category == VITAL_SIGNS


def _status(r: Resource) -> str | None:
    if r.get("status") not in OBSERVATION_STATUS:
        return f"status must be one of the ObservationStatus codes, not {r.get('status')}"
    return None


def _code(r: Resource) -> str | None:
    kind = _kind(r)
    if kind is None:
        return "neither a declared profile (meta.profile) nor a code this export knows"
    wanted = KINDS[kind].loinc
    if wanted not in _codes(r.get("code"), "http://loinc.org"):
        return f"code must carry LOINC {wanted} for {kind.value}"
    return None


def _category(r: Resource) -> str | None:
    kind = _kind(r)
    if kind is None:
        return None
    wanted = KINDS[kind].category
    if not any(wanted in _codes(c, OBSERVATION_CATEGORY) for c in r.get("category", [])):
        return f"category must include {OBSERVATION_CATEGORY}#{wanted}"
    return None


def _subject(r: Resource) -> str | None:
    ref = r.get("subject", {}).get("reference", "")
    if not ref.startswith("Patient/"):
        return "subject must reference a Patient"
    return None


def _effective(r: Resource) -> str | None:
    if "effectivePeriod" in r:
        return None
    if not _DAY.match(r.get("effectiveDateTime", "")):
        return "effective[x] must be a dateTime precise to the day at least, or a Period"
    return None


def _vs2(r: Resource) -> str | None:
    if not _is_vital(r) or "component" in r or "hasMember" in r:
        return None
    if "valueQuantity" not in r and "dataAbsentReason" not in r:
        return "a vital sign without components or members needs a value or dataAbsentReason"
    return None


def _vs3(r: Resource) -> str | None:
    for c in r.get("component", []):
        if "valueQuantity" not in c and "dataAbsentReason" not in c:
            return "each component needs a value or a dataAbsentReason"
    return None


def _obs6(r: Resource) -> str | None:
    if "dataAbsentReason" in r and any(k.startswith("value") for k in r):
        return "dataAbsentReason only when there is no value"
    return None


def _unit(r: Resource) -> str | None:
    kind = _kind(r)
    if kind not in _VS_UNITS or "valueQuantity" not in r:
        return None
    q = r["valueQuantity"]
    if q.get("system") != UCUM or q.get("code") not in _VS_UNITS[kind]:
        allowed = ", ".join(sorted(_VS_UNITS[kind]))
        return f"valueQuantity must be UCUM {allowed}, not {q.get('system')}#{q.get('code')}"
    if not isinstance(q.get("value"), int | float):
        return "valueQuantity.value is required"
    return None


def _bp_components(r: Resource) -> str | None:
    if _kind(r) is not ObservationKind.BLOOD_PRESSURE:
        return None
    for coding in BP_COMPONENTS.values():
        found = [
            c
            for c in r.get("component", [])
            if coding.code in _codes(c.get("code"), "http://loinc.org")
        ]
        if len(found) != 1:
            return f"a blood-pressure panel needs exactly one {coding.code} component"
        q = found[0].get("valueQuantity", {})
        if q.get("system") != UCUM or q.get("code") != "mm[Hg]":
            return f"component {coding.code} must be in UCUM mm[Hg]"
    return None


def _profiles(r: Resource) -> str | None:
    profiles = r.get("meta", {}).get("profile", [])
    if not _is_vital(r):
        return None
    if not any(p.startswith("http://hl7.org/fhir/StructureDefinition/") for p in profiles):
        return "a vital sign declares its HL7 Vital Signs profile"
    if not any(p.startswith(KRCORE_VITALSIGNS.rsplit("/", 1)[0] + "/krcore-") for p in profiles):
        return "a vital sign declares the KR Core profile it meets"
    return None


def _cgm(r: Resource) -> str | None:
    if CGM_SENSOR_READING not in r.get("meta", {}).get("profile", []):
        return None
    if not any(LABORATORY in _codes(c, OBSERVATION_CATEGORY) for c in r.get("category", [])):
        return "a CGM sensor reading is category laboratory"
    return None


def _cgm_unit(r: Resource) -> str | None:
    if CGM_SENSOR_READING not in r.get("meta", {}).get("profile", []):
        return None
    if r.get("valueQuantity", {}).get("unit") != CGM_MG_DL_UNIT:
        return f"a CGM sensor reading's valueQuantity.unit is {CGM_MG_DL_UNIT!r} (the pattern)"
    return None


def _identifier(r: Resource) -> str | None:
    if not r.get("identifier"):
        return "every exported reading carries a stable identifier"
    return None


def _device(r: Resource) -> str | None:
    if not r.get("device", {}).get("reference", "").startswith("Device/"):
        return "device must reference a Device resource"
    return None


STATUS_RULE = Rule("obs-status", "R4 Observation.status binding (required): ObservationStatus",
                   _status)  # fmt: skip
RULES: tuple[Rule, ...] = (
    STATUS_RULE,
    Rule("obs-code", "vitalsigns / cgm-sensor-reading: code pattern per profile", _code),
    Rule("obs-category", "vitalsigns VSCat slice 1..1; CGM IG: category laboratory", _category),
    Rule("vs-subject", "vitalsigns: subject 1..1 Reference(Patient)", _subject),
    Rule("vs-1", "vitalsigns vs-1: effectiveDateTime at least to the day", _effective),
    Rule("vs-2", "vitalsigns vs-2: value[x] or dataAbsentReason, unless components/members", _vs2),
    Rule("vs-3", "vitalsigns vs-3: each component a value or a dataAbsentReason", _vs3),
    Rule("obs-6", "R4 obs-6 (krcore-vitalsigns): dataAbsentReason only without a value", _obs6),
    Rule("vs-unit", "heartrate/oxygensat/bodyweight/bodytemp/resprate: UCUM unit binding", _unit),
    Rule(
        "bp-components", "bp: SystolicBP 8480-6 and DiastolicBP 8462-4 1..1, mm[Hg]", _bp_components
    ),
    Rule("vs-profiles", "Vigil: HL7 and KR Core profiles both declared (issue 26)", _profiles),
    Rule("cgm-category", "CGM IG cgm-sensor-reading-mass-per-volume: laboratory", _cgm),
    Rule("cgm-unit", "CGM IG cgm-sensor-reading-mass-per-volume: valueQuantity pattern", _cgm_unit),
    Rule("vigil-identifier", "Vigil: a stable identifier per reading", _identifier),
    Rule("vigil-device", "Vigil: device references a Device in the Bundle", _device),
)


def violations(resource: Resource, rules: tuple[Rule, ...] = RULES) -> list[str]:
    """Every rule (of ``rules``) an Observation breaks, as ``name: reason``."""
    out = []
    for rule in rules:
        reason = rule.check(resource)
        if reason is not None:
            out.append(f"{rule.name}: {reason}")
    return out


def unresolved_references(bundle: Resource) -> list[str]:
    """References (subject, device, evidence) that no entry of the Bundle resolves."""
    present = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])
    }
    missing = []
    for e in bundle.get("entry", []):
        r = e["resource"]
        refs = [r.get("subject", {}), r.get("device", {}), r.get("patient", {})]
        refs += [d for ev in r.get("evidence", []) for d in ev.get("detail", [])]
        for ref in refs:
            target = ref.get("reference")
            if target and target not in present:
                missing.append(f"{r['resourceType']}/{r['id']} -> {target}")
    return missing
