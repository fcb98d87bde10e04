"""Request and response bodies (``XCreate`` / ``XUpdate`` / ``XPublic``), with examples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from vigil.api.access import Role
from vigil.api.names import DisplayName, Email, SignInEmail
from vigil.clinical.careplan import InsulinSettings
from vigil.core.conditions import Condition as ConditionName
from vigil.core.identities import DEVICE_ID_RE, check_device_id
from vigil.core.metrics import SPECS, Metric

Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
"""Text without NUL characters (PostgreSQL cannot store them), as the spec says."""


class Strict(BaseModel):
    """Request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# -- auth ------------------------------------------------------------------------------------


class TokenRequest(Strict):
    email: SignInEmail
    password: Text = Field(min_length=1, max_length=200, examples=["correct horse battery"])


class SessionPublic(BaseModel):
    csrf_token: str = Field(description="Send as X-CSRF-Token on every change")
    expires_at: datetime


class TokenPublic(BaseModel):
    access_token: str = Field(examples=["vgl_2Zq...k"])
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name)
    expires_at: datetime


class UserCreate(Strict):
    email: Email
    display_name: DisplayName = Field(examples=["Nurse Ada"])
    role: Role = Field(examples=["clinician"])
    password: Text = Field(min_length=12, max_length=200, examples=["correct horse battery"])
    patient_id: UUID | None = Field(default=None, description="Required for role 'patient'")


class UserPublic(BaseModel):
    id: UUID
    email: str
    display_name: str
    role: Role
    patient_id: UUID | None = None
    created_at: datetime | None = None
    disabled_at: datetime | None = None


class MePublic(UserPublic):
    tenant_id: UUID


class TenantPublic(BaseModel):
    id: UUID
    name: str = Field(examples=["Riverside Clinic"])
    created_at: datetime


# -- care teams ------------------------------------------------------------------------------


class CareTeamCreate(Strict):
    name: DisplayName = Field(examples=["Heart failure nurses"])


class CareTeamPublic(BaseModel):
    id: UUID
    name: str
    patients: int = 0
    members: int = 0
    created_at: datetime | None = None


class MemberAdd(Strict):
    user_id: UUID


class TeamPatientAdd(Strict):
    patient_id: UUID


class VitalPublic(BaseModel):
    metric: Metric
    time: datetime
    value: float
    unit: str
    censored: Literal["below", "above"] | None = Field(
        default=None,
        description="A CGM's LOW (below its range, value 40 mg/dL) or HIGH (above, 400)",
    )


class PatientVitals(BaseModel):
    patient_id: UUID
    display_name: str
    open_alerts: int = Field(description="Unresolved alerts of the patient")
    vitals: list[VitalPublic]


# -- patients --------------------------------------------------------------------------------

Condition = Annotated[ConditionName, AfterValidator(lambda c: c.value)]
"""One of the closed list (:class:`vigil.core.conditions.Condition`), kept as its name."""


class PatientCreate(Strict):
    display_name: DisplayName = Field(examples=["Jane D."])
    conditions: list[Condition] = Field(default_factory=list, max_length=5, examples=[["copd"]])
    care_team_id: UUID | None = Field(default=None, description="Add to this care team")


class PatientUpdate(Strict):
    display_name: DisplayName | None = None
    conditions: list[Condition] | None = Field(default=None, max_length=5)
    birth_date: date | None = Field(default=None, examples=["1948-03-02"])
    record_number: Text | None = Field(
        default=None, min_length=1, max_length=40, examples=["00123456"]
    )


class PatientPublic(BaseModel):
    id: UUID
    display_name: str
    conditions: list[str]
    created_at: datetime
    discharged_at: datetime | None = None
    birth_date: date | None = None
    record_number: str | None = None


class Range(Strict):
    low: float | None = Field(default=None, examples=[90])
    high: float | None = Field(default=None, examples=[100])


def check_limits(limits: dict[Metric, Range]) -> dict[Metric, Range]:
    """Low below high, both within what the metric can physiologically be (the plausibility
    range ingest applies, in canonical units): a plan no reading could ever cross is a typo."""
    for metric, r in limits.items():
        spec = SPECS[metric]
        for side, v in (("low", r.low), ("high", r.high)):
            if v is not None and not spec.low <= v <= spec.high:
                raise ValueError(
                    f"{metric.value} {side} {v:g} is outside {spec.low:g}-{spec.high:g} {spec.ucum}"
                )
        if r.low is not None and r.high is not None and r.low >= r.high:
            raise ValueError(f"{metric.value}: low {r.low:g} must be below high {r.high:g}")
    return limits


CheckedLimits = Annotated[dict[Metric, Range], AfterValidator(check_limits)]


_ISF = InsulinSettings.SENSITIVITY_RANGE
_RATIO = InsulinSettings.CARB_RATIO_RANGE


class InsulinSettingsIn(Strict):
    """The patient's bolus-calculator settings, for the insulin-on-board forecast; a setting
    left out (or null) is the default (:class:`~vigil.clinical.careplan.InsulinSettings`)."""

    sensitivity_mg_dl_per_u: float | None = Field(
        default=None, ge=_ISF[0], le=_ISF[1], examples=[50], description="mg/dL one unit lowers"
    )
    carb_ratio_g_per_u: float | None = Field(
        default=None, ge=_RATIO[0], le=_RATIO[1], examples=[10], description="grams one unit covers"
    )


class CarePlan(Strict):
    targets: CheckedLimits = Field(
        default_factory=dict,
        description="What the patient aims for, shown in their feed",
        examples=[{"spo2": {"low": 92}}],
    )
    thresholds: CheckedLimits = Field(
        default_factory=dict,
        description="Alert thresholds the detectors use for this patient",
        examples=[{"spo2": {"low": 88}}],
    )
    insulin: InsulinSettingsIn | None = Field(
        default=None,
        description="Insulin sensitivity and carb ratio (pump users); left out, the stored"
        " settings stay as they are",
    )


class CarePlanDefaults(BaseModel):
    """What the detectors use where the plan sets nothing, for the patient's conditions."""

    thresholds: dict[Metric, Range]
    targets: dict[Metric, Range]
    bounds: dict[Metric, Range] = Field(
        description="What a value can be (the plan's checks and ingest's plausibility range)"
    )
    insulin: dict[str, float] = Field(
        default_factory=dict, description="The insulin settings' defaults"
    )


class CarePlanPublic(CarePlan):
    model_config = ConfigDict(extra="ignore")
    # As stored: a plan saved before the checks existed still reads.
    targets: dict[Metric, Range] = Field(default_factory=dict)
    thresholds: dict[Metric, Range] = Field(default_factory=dict)
    insulin: dict[str, float] | None = Field(default_factory=dict)  # type: ignore[assignment]
    patient_id: UUID
    updated_at: datetime | None = None
    updated_by: UUID | None = None


class CarePlanPreviewIn(Strict):
    thresholds: CheckedLimits = Field(
        description="The proposed thresholds", examples=[{"spo2": {"low": 86}}]
    )
    days: int = Field(default=30, ge=1, le=90, description="History to replay")


class PreviewAlert(BaseModel):
    cause: str
    time: datetime = Field(description="When the alert would have opened")


class PreviewOutcome(BaseModel):
    alerts: int
    by_cause: dict[str, int] = Field(examples=[{"spo2_low": 3}])
    opened: list[PreviewAlert] = Field(default_factory=list, description="Oldest first")


class CarePlanPreview(BaseModel):
    days: int
    readings: int = Field(description="Readings replayed")
    engine: str = Field(description="Which detectors replayed the history")
    current: PreviewOutcome = Field(description="With today's thresholds")
    proposed: PreviewOutcome
    new: list[PreviewAlert] = Field(
        default_factory=list, description="Alerts the proposal opens that today's plan does not"
    )
    gone: list[PreviewAlert] = Field(
        default_factory=list, description="Alerts today's plan opens that the proposal does not"
    )


# -- devices ---------------------------------------------------------------------------------

DeviceKind = Literal[
    "bp_cuff", "glucometer", "cgm", "insulin_pump", "oximeter", "scale", "thermometer", "wearable"
]


class DeviceCreate(Strict):
    kind: DeviceKind = Field(examples=["oximeter"])
    device_id: str | None = Field(
        default=None,
        pattern=DEVICE_ID_RE.pattern,
        examples=["ox-0001"],
        description="Ids beginning with 'vigil-' or 'vigil_' are reserved for Vigil's services",
    )
    patient_id: UUID | None = Field(default=None, description="Assign from now on")

    @field_validator("device_id")
    @classmethod
    def _not_reserved(cls, device_id: str | None) -> str | None:
        return None if device_id is None else check_device_id(device_id)


class NightscoutAccessPublic(BaseModel):
    """An uploader app's settings (xDrip+, AAPS, Loop): shown once, like the password."""

    url: str = Field(examples=["https://vigil.example.org/ns"])
    api_secret: str = Field(description="Shown once: only digests are stored")
    access_token: str = Field(description="For API v3 (AAPS) and followers; shown once")
    xdrip_url: str = Field(examples=["https://SECRET@vigil.example.org/ns/api/v1/"])


class DeviceCredentialsPublic(BaseModel):
    device_id: str
    password: str = Field(description="Shown once: only its hash is stored")
    topic: str = Field(examples=["vigil/v1/devices/ox-0001/readings"])
    nightscout: NightscoutAccessPublic | None = None


class DevicePublic(BaseModel):
    id: str
    kind: str
    created_at: datetime
    revoked_at: datetime | None = None
    patient_id: UUID | None = Field(default=None, description="Current assignment")


class AssignmentCreate(Strict):
    patient_id: UUID
    valid_from: AwareDatetime | None = Field(default=None, description="Default: now")


# -- readings --------------------------------------------------------------------------------


class ReadingPublic(BaseModel):
    time: datetime
    metric: Metric
    value: float
    unit: str
    device_id: str
    censored: Literal["below", "above"] | None = None
    """The device showed LOW (``below``) or HIGH (``above``) its range: ``value`` is the
    bound (a CGM's 40 or 400 mg/dL), the true value at most or at least that."""


class BucketPublic(BaseModel):
    bucket: datetime
    min: float
    avg: float
    max: float
    count: int
    low: int = 0
    """Readings in the bucket that were the device's LOW mark (counted in min at the bound)."""
    high: int = 0
    """Readings in the bucket that were the device's HIGH mark."""


class RollupPublic(BaseModel):
    metric: Metric
    unit: str
    bucket: str = Field(examples=["1h"])
    buckets: list[BucketPublic]


# -- alerts ----------------------------------------------------------------------------------

SeverityName = Literal["info", "warning", "high", "critical"]
PayloadFormat = Literal["vigil", "fhir"]
"""What a webhook destination receives: Vigil's JSON, or the alert as a FHIR DetectedIssue."""
StateName = Literal["open", "acknowledged", "snoozed", "resolved"]
OutcomeName = Literal["actionable", "not_actionable", "false_reading", "duplicate"]


class AlertReadingPublic(BaseModel):
    time: datetime
    metric: str | None
    value: float | None
    systolic: float | None = None
    diastolic: float | None = None
    censored: str | None = None
    text: str = Field(
        default="", examples=["195/109 mmHg"], description="As clinicians write it, with unit"
    )


class AlertPublic(BaseModel):
    id: UUID
    patient_id: UUID
    episode: str = Field(
        examples=["low_glucose"],
        description="The physiological state: one unresolved alert per patient and episode",
    )
    cause: str = Field(examples=["hypoglycemia"], description="The episode's current cause")
    causes: list[str] = Field(
        examples=[["hypoglycemia", "predicted_low"]], description="Every cause it has seen"
    )
    worst_value: float | None = Field(description="The episode's worst reading")
    metrics: list[str]
    detector: str
    state: StateName
    severity: SeverityName
    score: float
    finding_count: int
    first_seen: datetime
    last_seen: datetime
    last_value: float | None
    explanation: dict[str, Any] = Field(
        examples=[{"sentence": "SpO2 85 % is below the COPD threshold of 88 %", "value": 85}],
        description="The finding behind the alert: its code and values, and ``sentence`` in "
        "the caller's language (?lang=, the vigil_lang cookie, Accept-Language; Korean by "
        "default)",
    )
    explanation_en: str | None = Field(
        default=None, description="The explanation's sentence in English, for audit"
    )
    data_age_s: float = Field(description="How old the data behind it was when scored")
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    snoozed_until: datetime | None
    resolved_at: datetime | None
    resolved_by: UUID | None
    outcome: str | None
    escalation_level: int
    assigned_to: UUID | None = None
    patient_name: str | None = Field(default=None, description="In the inbox list")
    opened: AlertReadingPublic | None = Field(
        default=None, description="The reading that opened the episode"
    )
    latest: AlertReadingPublic | None = Field(
        default=None, description="The episode's newest reading"
    )
    worst: AlertReadingPublic | None = Field(
        default=None, description="The episode's worst reading"
    )


class AlertEventPublic(BaseModel):
    id: int
    at: datetime
    kind: str
    actor_user_id: UUID | None
    from_state: str | None
    to_state: str | None
    severity: SeverityName | None
    note: str | None
    details: dict[str, Any]


class NoteIn(Strict):
    note: Text | None = Field(default=None, max_length=2000, examples=["Called the patient"])


class CommentIn(Strict):
    note: Text = Field(min_length=1, max_length=2000, examples=["Asked to re-measure"])


class SnoozeIn(Strict):
    minutes: int = Field(ge=1, le=7 * 24 * 60, examples=[60])
    note: Text | None = Field(default=None, max_length=2000)


class AssignIn(Strict):
    user_id: UUID | None = Field(description="One of the tenant's staff, or null to unassign")


class ResolveIn(Strict):
    outcome: OutcomeName = Field(examples=["actionable"])
    note: Text | None = Field(default=None, max_length=2000)


class AlertChangePublic(BaseModel):
    alert_id: UUID
    patient_id: UUID
    cause: str
    kind: str
    state: StateName
    severity: SeverityName
    at: datetime
    explanation: str = Field(default="", description="In the caller's language")
    explanation_en: str = Field(default="", description="In English, for audit")
    explanation_ko: str = ""


# -- notifications, audit, reports -----------------------------------------------------------


class WebhookCreate(Strict):
    url: str = Field(
        pattern=r"^https?://[^\x00]*$",
        max_length=2000,
        examples=["https://pager.example/in"],
        description="https (http only where VIGIL_WEBHOOK_ALLOW_HTTP is set); not an address"
        " inside (loopback, link-local, private, multicast)",
    )
    secret: Text = Field(min_length=8, max_length=200, description="HMAC-SHA256 signing key")
    level: int = Field(default=0, ge=0, le=5, description="0: new alerts; n: escalation level n")
    min_severity: SeverityName = "warning"
    payload_format: PayloadFormat = Field(
        default="vigil", description="Vigil's JSON, or the alert as a FHIR R4 DetectedIssue"
    )


class WebhookPublic(BaseModel):
    id: UUID
    url: str
    level: int
    min_severity: SeverityName
    active: bool
    payload_format: PayloadFormat = "vigil"


class DeliveryPublic(BaseModel):
    id: int
    alert_id: UUID
    webhook_id: UUID
    kind: str
    idempotency_key: UUID
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor_user_id: UUID | None
    actor_role: str | None
    action: str
    method: str
    path: str
    patient_id: UUID | None
    outcome: Literal["allowed", "denied"]
    status: int
    detail: dict[str, Any]
    actor_email: str | None = None


class BurdenRow(BaseModel):
    key: str = Field(description="The rule (cause) or the patient id")
    alerts: int
    resolved: int
    actionable: int
    patient_weeks: float
    alerts_per_patient_week: float
    actionable_share: float | None = Field(description="Actionable / resolved with an outcome")


class BurdenReport(BaseModel):
    days: int
    by_rule: list[BurdenRow]
    by_patient: list[BurdenRow]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
