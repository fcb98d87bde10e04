"""What the reports answer: the AGP, the home blood-pressure summary, the heart-failure weight
diary (pydantic, so the API serves them as they are)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Goal(BaseModel):
    key: str = Field(description="tir, tbr, tbr_54, tar, tar_250, cv or active")
    goal: float = Field(description="The consensus goal (a fraction, or % for cv and active)")
    at_least: bool = Field(description="The goal is a floor (else a ceiling)")
    value: float | None
    met: bool | None = Field(description="None without readings")


class ProfileRow(BaseModel):
    minute: int = Field(description="Minute of the day (clinic time zone) the 15 minutes start")
    p5: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p95: float | None


class DayProfile(BaseModel):
    day: date
    readings: int
    points: list[tuple[int, float]] = Field(description="(minute of the day, 15-minute mean)")


class LowEpisode(BaseModel):
    below: float = Field(description="mg/dL the episode stayed under (70 or 54)")
    start: datetime
    end: datetime
    nadir: float


class Agp(BaseModel):
    """The ambulatory glucose profile (international consensus, Battelino 2019/2023)."""

    model_config = ConfigDict(populate_by_name=True)

    start: datetime
    end: datetime
    days: float
    time_zone: str
    active_percent: float
    readings: int
    mean_mg_dl: float | None
    gmi_percent: float | None
    cv_percent: float | None
    sd_mg_dl: float | None
    time_in_ranges: dict[str, float] = Field(
        description="below_54, 54_69, 70_180, 181_250, above_250: fractions of the worn time"
    )
    goals: list[Goal]
    profile: list[ProfileRow]
    daily: list[DayProfile]
    lows: list[LowEpisode]


class BpAverage(BaseModel):
    systolic: float | None = Field(description="mmHg, the mean of the sittings' means")
    diastolic: float | None
    sittings: int
    readings: int


class BpDay(BaseModel):
    day: date
    morning: BpAverage
    evening: BpAverage


class HomeBp(BaseModel):
    """Home blood pressure by the ESH 2023 / KSH 2022 protocol."""

    start: datetime
    end: datetime
    time_zone: str
    dropped_day: date | None = Field(description="The first day, left out by the protocol")
    days_used: int
    enough_days: bool = Field(description="At least the protocol's minimum of days used")
    morning: BpAverage
    evening: BpAverage
    overall: BpAverage
    target_systolic: float
    target_diastolic: float
    at_target: bool | None = Field(description="The overall average under the target")
    days: list[BpDay]


class ClinicRow(BaseModel):
    """One patient of the clinic list: the period's CGM measures (None without readings)."""

    patient_id: UUID
    display_name: str
    readings: int
    tir: float | None = Field(default=None, description="Share of time 70-180 mg/dL")
    tbr: float | None = Field(default=None, description="Share of time below 70 mg/dL")
    tbr_54: float | None = Field(default=None, description="Share of time below 54 mg/dL")
    tar: float | None = Field(default=None, description="Share of time above 180 mg/dL")
    mean_mg_dl: float | None = None
    gmi: float | None = Field(default=None, description="GMI, %")
    cv: float | None = Field(default=None, description="Coefficient of variation, %")
    active: float | None = Field(default=None, description="% of the period the CGM was worn")


class HfRuleHit(BaseModel):
    rule: str = Field(description="hf_weight_gain (kg in days) or hf_weight_baseline (usual)")
    time: datetime
    kg: float
    threshold: float | None = Field(description="The rule's limit as the detector stated it")
    baseline_kg: float | None = Field(description="The weight compared against")
    window_days: float | None = Field(
        default=None, description="hf_weight_gain: the days the gain is counted within"
    )
    previous_kg: float | None = Field(
        default=None, description="hf_weight_baseline: the weighing before, up too"
    )


class HfDay(BaseModel):
    day: date
    time: datetime
    kg: float = Field(description="The day's first weighing")
    rules: list[HfRuleHit]
    alert: bool = Field(description="The care team had an alert that day")


class HfUsual(BaseModel):
    day: date
    usual_kg: float | None = Field(
        description="The usual weight the personal-baseline detector compared the day's first "
        "weighing against (or would have: a day without one); None while it still learns"
    )
    limit_kg: float | None = Field(
        description="usual_kg + baseline_excess_kg: a weighing at or above it, with the one "
        "before up too, fires hf_weight_baseline"
    )


class HfWeight(BaseModel):
    """The heart-failure weight diary."""

    start: datetime
    end: datetime
    time_zone: str
    heart_failure: bool = Field(description="The rules apply only to heart-failure patients")
    gain_kg: float
    gain_days: float
    baseline_excess_kg: float = Field(description="The personal-baseline rule's margin (kg)")
    days: list[HfDay]
    usual: list[HfUsual] = Field(description="Every day of the period, weighed or not")
    alert_days: list[date]
