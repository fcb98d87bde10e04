"""FHIR R4 codes and profiles for each kind of reading: the one table the FHIR mapping reads.

Sources (published specifications, read for this table; docs/fhir.md cites each):

- HL7 FHIR R4 Vital Signs profiles (``http://hl7.org/fhir/StructureDefinition/vitalsigns``
  and the profiles derived from it: ``bp``, ``heartrate``, ``oxygensat``, ``bodyweight``,
  ``bodytemp``, ``resprate``), with their codes (85354-9 with 8480-6 / 8462-4 components,
  8867-4, 2708-6, 29463-7, 8310-5, 9279-1) and UCUM units.
- KR Core 2.0.0 (HL7 Korea): ``krcore-vitalsigns``, whose value set ``krcore-vital-signs-codes``
  lists the LOINC codes above, and ``krcore-bodytemperature`` derived from it.
- HL7 CGM IG STU 1: ``cgm-sensor-reading-mass-per-volume`` (99504-3, mg/dL, category
  laboratory) and the ``cgm-summary`` profile with its six members (LOINC codes of 1.0.0).

>>> KINDS[ObservationKind.BLOOD_PRESSURE].loinc
'85354-9'
>>> observation_kind(Metric.GLUCOSE, "cgm"), observation_kind(Metric.GLUCOSE, "glucometer")
(<ObservationKind.CGM_GLUCOSE: 'cgm_glucose'>, <ObservationKind.METER_GLUCOSE: 'meter_glucose'>)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vigil.clinical.findings import Severity
from vigil.core.metrics import Metric

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
IDENTIFIER_URI = "urn:ietf:rfc:3986"
"""Identifier system of a value that is itself a URI (our readings' ``urn:uuid:``)."""

VITAL_SIGNS = "vital-signs"
LABORATORY = "laboratory"

_HL7 = "http://hl7.org/fhir/StructureDefinition/"
_KRCORE = "http://www.hl7korea.or.kr/fhir/krcore/StructureDefinition/"
KRCORE_VITALSIGNS = _KRCORE + "krcore-vitalsigns"
KRCORE_BODYTEMPERATURE = _KRCORE + "krcore-bodytemperature"
CGM_MG_DL_UNIT = "mg/dl"
"""The ``unit`` text the CGM IG's quantity pattern fixes beside UCUM ``mg/dL`` (STU 1)."""
CGM_SENSOR_READING = (
    "http://hl7.org/fhir/uv/cgm/StructureDefinition/cgm-sensor-reading-mass-per-volume"
)


class ObservationKind(StrEnum):
    """One exported Observation: a cuff's systolic and diastolic are one panel."""

    BLOOD_PRESSURE = "blood_pressure"
    HEART_RATE = "heart_rate"
    SPO2 = "spo2"
    BODY_WEIGHT = "body_weight"
    BODY_TEMPERATURE = "body_temperature"
    RESPIRATORY_RATE = "respiratory_rate"
    CGM_GLUCOSE = "cgm_glucose"
    METER_GLUCOSE = "meter_glucose"


@dataclass(frozen=True, slots=True)
class Coding:
    code: str
    display: str
    system: str = LOINC


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: ObservationKind
    codings: tuple[Coding, ...]
    """The first is the code the profile requires; any further are additional codings."""
    category: str
    profiles: tuple[str, ...]
    """What ``meta.profile`` declares: the HL7 profile, then the KR Core one (vital signs)."""
    metrics: tuple[Metric, ...]
    """The stored metrics the Observation carries (the panel: systolic, diastolic)."""
    ucum: str
    unit_display: str

    @property
    def loinc(self) -> str:
        return self.codings[0].code


_BP_UNIT = ("mm[Hg]", "mmHg")
KINDS: dict[ObservationKind, KindSpec] = {
    k.kind: k
    for k in (
        KindSpec(
            ObservationKind.BLOOD_PRESSURE,
            (Coding("85354-9", "Blood pressure panel with all children optional"),),
            VITAL_SIGNS,
            (_HL7 + "bp", KRCORE_VITALSIGNS),
            (Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC),
            *_BP_UNIT,
        ),
        KindSpec(
            ObservationKind.HEART_RATE,
            (Coding("8867-4", "Heart rate"),),
            VITAL_SIGNS,
            (_HL7 + "heartrate", KRCORE_VITALSIGNS),
            (Metric.HEART_RATE,),
            "/min",
            "beats/minute",
        ),
        KindSpec(
            ObservationKind.SPO2,
            (
                Coding("2708-6", "Oxygen saturation in Arterial blood"),
                Coding("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            ),
            VITAL_SIGNS,
            (_HL7 + "oxygensat", KRCORE_VITALSIGNS),
            (Metric.SPO2,),
            "%",
            "%",
        ),
        KindSpec(
            ObservationKind.BODY_WEIGHT,
            (Coding("29463-7", "Body weight"),),
            VITAL_SIGNS,
            (_HL7 + "bodyweight", KRCORE_VITALSIGNS),
            (Metric.BODY_WEIGHT,),
            "kg",
            "kg",
        ),
        KindSpec(
            ObservationKind.BODY_TEMPERATURE,
            (Coding("8310-5", "Body temperature"),),
            VITAL_SIGNS,
            (_HL7 + "bodytemp", KRCORE_BODYTEMPERATURE),
            (Metric.BODY_TEMPERATURE,),
            "Cel",
            "°C",
        ),
        KindSpec(
            ObservationKind.RESPIRATORY_RATE,
            (Coding("9279-1", "Respiratory rate"),),
            VITAL_SIGNS,
            (_HL7 + "resprate", KRCORE_VITALSIGNS),
            (Metric.RESPIRATORY_RATE,),
            "/min",
            "breaths/minute",
        ),
        KindSpec(
            ObservationKind.CGM_GLUCOSE,
            (Coding("99504-3", "Glucose [Mass/volume] in Interstitial fluid"),),
            LABORATORY,
            (CGM_SENSOR_READING,),
            (Metric.GLUCOSE,),
            "mg/dL",
            CGM_MG_DL_UNIT,
        ),
        KindSpec(
            ObservationKind.METER_GLUCOSE,
            (Coding("41653-7", "Glucose [Mass/volume] in Capillary blood by Glucometer"),),
            LABORATORY,
            (),
            (Metric.GLUCOSE,),
            "mg/dL",
            "mg/dL",
        ),
    )
}

BP_COMPONENTS: dict[Metric, Coding] = {
    Metric.BP_SYSTOLIC: Coding("8480-6", "Systolic blood pressure"),
    Metric.BP_DIASTOLIC: Coding("8462-4", "Diastolic blood pressure"),
}
"""The panel's components, in the order the ``bp`` profile slices them."""

CGM_DEVICE_KINDS = frozenset({"cgm"})
"""Device kinds whose glucose is interstitial (a sensor reading), not capillary blood."""

NOT_EXPORTED: frozenset[Metric] = frozenset({Metric.INSULIN, Metric.CARBS, Metric.STEPS})
"""A bolus and entered carbohydrate are left out of the FHIR export (docs/fhir.md says why);
so are a wearable's steps per minute (what the heart-rate rules read as activity, not a
vital sign)."""

CENSORED_INTERPRETATION: dict[str, Coding] = {
    "below": Coding("<", "Off scale low", INTERPRETATION),
    "above": Coding(">", "Off scale high", INTERPRETATION),
}
"""A device's LOW / HIGH: the bound with ``valueQuantity.comparator`` and this interpretation."""
COMPARATOR: dict[str, str] = {"below": "<", "above": ">"}


def observation_kind(metric: Metric, device_kind: str | None) -> ObservationKind | None:
    """The Observation a stored reading belongs to (None: not exported)."""
    if metric in NOT_EXPORTED:
        return None
    if metric in BP_COMPONENTS:
        return ObservationKind.BLOOD_PRESSURE
    if metric is Metric.GLUCOSE:
        if device_kind in CGM_DEVICE_KINDS:
            return ObservationKind.CGM_GLUCOSE
        return ObservationKind.METER_GLUCOSE
    return ObservationKind(metric.value)


def kinds_for_code(code: str) -> tuple[ObservationKind, ...]:
    """The kinds a searched LOINC code (any of a kind's codings, or a component's) selects."""
    found = [k.kind for k in KINDS.values() if any(c.code == code for c in k.codings)]
    if any(c.code == code for c in BP_COMPONENTS.values()):
        found.append(ObservationKind.BLOOD_PRESSURE)
    return tuple(found)


DEVICE_TYPES: dict[str, tuple[str, str]] = {
    "bp_cuff": ("Blood pressure cuff", "혈압계"),
    "cgm": ("Continuous glucose monitor", "연속혈당측정기"),
    "glucometer": ("Blood glucose meter", "혈당측정기"),
    "scale": ("Body weight scale", "체중계"),
    "oximeter": ("Pulse oximeter", "맥박산소측정기"),
    "thermometer": ("Thermometer", "체온계"),
    "hr_wearable": ("Heart rate monitor", "심박수 측정기"),
}
"""A device kind as the Device's ``type.text`` (English) and its Korean ``display``."""


DETECTED_ISSUE_SEVERITY: dict[Severity, str] = {
    Severity.INFO: "low",
    Severity.WARNING: "moderate",
    Severity.HIGH: "high",
    Severity.CRITICAL: "high",
}
"""DetectedIssue.severity (required binding: high | moderate | low)."""


_CGM = "http://hl7.org/fhir/uv/cgm/StructureDefinition/"
CGM_SUMMARY = _CGM + "cgm-summary"
"""HL7 CGM IG STU 1 (1.0.0): the summary Observation, its members under ``hasMember``."""


class SummaryFigure(StrEnum):
    """One member Observation of the CGM IG's summary."""

    MEAN_GLUCOSE = "mean_glucose"
    TIMES_IN_RANGES = "times_in_ranges"
    GMI = "gmi"
    CV = "cv"
    DAYS_OF_WEAR = "days_of_wear"
    SENSOR_ACTIVE = "sensor_active"


@dataclass(frozen=True, slots=True)
class SummarySpec:
    """A member's profile, its LOINC code (the profile's pattern) and the quantity pattern its
    value must carry (UCUM code, and the ``unit`` text the IG fixes with it)."""

    figure: SummaryFigure
    profile: str
    coding: Coding
    ucum: str | None
    unit: str | None


CGM_SUMMARY_CODING = Coding("107931-8", "CGM summary panel - Reporting Period")
SUMMARY_MEMBERS: dict[SummaryFigure, SummarySpec] = {
    s.figure: s
    for s in (
        SummarySpec(
            SummaryFigure.MEAN_GLUCOSE,
            _CGM + "cgm-summary-mean-glucose-mass-per-volume",
            Coding("97507-8", "Mean glucose by CGM"),
            "mg/dL",
            CGM_MG_DL_UNIT,
        ),
        SummarySpec(
            SummaryFigure.TIMES_IN_RANGES,
            _CGM + "cgm-summary-times-in-ranges",
            Coding("106793-3", "CGM time in ranges panel"),
            None,
            None,
        ),
        SummarySpec(
            SummaryFigure.GMI,
            _CGM + "cgm-summary-gmi",
            Coding("97506-0", "Glucose management indicator by CGM"),
            "%",
            "%",
        ),
        SummarySpec(
            SummaryFigure.CV,
            _CGM + "cgm-summary-coefficient-of-variation",
            Coding("104638-2", "Coefficient of variation of glucose by CGM"),
            "%",
            "%",
        ),
        SummarySpec(
            SummaryFigure.DAYS_OF_WEAR,
            _CGM + "cgm-summary-days-of-wear",
            Coding("104636-6", "CGM duration of use"),
            "d",
            "days",
        ),
        SummarySpec(
            SummaryFigure.SENSOR_ACTIVE,
            _CGM + "cgm-summary-sensor-active-percentage",
            Coding("104637-4", "CGM sensor wear time active"),
            "%",
            "%",
        ),
    )
}
"""The summary's members, in the order the IG lists them; mean glucose is the IG's optional
``meanGlucoseMassPerVolume`` slice (left out when no reading), the others are 1..1."""

TIME_IN_RANGE_COMPONENTS: dict[str, Coding] = {
    "below_54": Coding("104642-4", "CGM time in very low range"),
    "54_69": Coding("104641-6", "CGM time in low range"),
    "70_180": Coding("97510-2", "CGM time in range"),
    "181_250": Coding("104640-8", "CGM time in high range"),
    "above_250": Coding("104639-0", "CGM time in very high range"),
}
"""The times-in-ranges panel's components by the AGP's range keys (``vigil.clinical.glycaemia``
GLUCOSE_RANGES), each a percentage (UCUM ``%``) of the worn time."""
