"""The English words of findings: one template per kind (see :mod:`vigil.clinical.wording`)."""

from __future__ import annotations

TEMPLATES: dict[str, str] = {
    "hypertensive_crisis": "Blood pressure {bp}, at or above the {limit} hypertensive-crisis "
    "threshold.",
    "spo2_low": "SpO2 {value}, below the patient's {threshold} threshold.",
    "hypoglycemia_urgent": "Glucose {value}, below the {threshold} level of urgent (level 2) "
    "hypoglycaemia.",
    "hypoglycemia_urgent_lag": "Glucose {value} and falling: the sensor lags blood glucose by "
    "about {lag_min} minutes, so the blood glucose has likely reached urgent (level 2) "
    "hypoglycaemia.",
    "hypoglycemia": "Glucose {value}, below the {threshold} hypoglycaemia threshold.",
    "hypoglycemia_unconfirmed": "Glucose {value}, below the {threshold} hypoglycaemia "
    "threshold and near {urgent} (urgent low): urgent once the next reading and the sensor's "
    "trend confirm it.",
    "hypoglycemia_unconfirmed_drift": "Glucose {value}, below the {threshold} hypoglycaemia "
    "threshold and near {urgent} (urgent low): this sensor drifts by about {drift} for up to 45 "
    "minutes, so it is urgent once the readings stay below {urgent} for {minutes} minutes and "
    "the sensor's trend agrees.",
    "hyperglycemia": "Glucose {value}, above the {threshold} hyperglycaemia threshold.",
    "tachycardia": "Heart rate {value} at rest, above the {threshold} threshold.",
    "tachycardia_lasting": "Heart rate {value} at rest, above the {threshold} threshold for "
    "{minutes} minutes.",
    "bradycardia": "Heart rate {value}, below the {threshold} threshold.",
    "bradycardia_lasting": "Heart rate {value}, below the {threshold} threshold for {minutes} "
    "minutes.",
    "fever": "Temperature {value}, at or above the {threshold} fever threshold.",
    "tachycardia_above_usual": "Heart rate {value} at rest for {minutes} minutes, {delta} above "
    "this patient's usual {usual} (at or above {threshold}).",
    "fever_above_usual": "Temperature {value}, {delta} above this patient's usual {usual} "
    "(at or above {threshold}).",
    "hf_weight_gain": "Weight up {gain} ({start} to {value}), above the heart-failure rule of "
    "{threshold} in {days} days.",
    "hf_weight_baseline": "Weight {value}, {excess} above this patient's usual {baseline}, and "
    "the previous weighing ({previous}) was up too.",
    "copd_exacerbation": "SpO2 {value}, {drop} points below this patient's usual {baseline}.",
    "bp_above_target": "Home blood pressure averaged {bp} over the last {days} days "
    "({readings} readings), above the {target} target.",
    "predicted_low": "Glucose {value} and falling {rate} mg/dL per minute: predicted below "
    "{threshold} (urgent low) within {horizon} minutes.",
    "predicted_low_insulin": "Glucose {value}, {insulin} of insulin on board: predicted below "
    "{threshold} (urgent low) within {minutes} minutes.",
    "predicted_low_insulin_carbs": "Glucose {value}, {insulin} of insulin on board and "
    "{carbs} g of carbohydrate still to absorb: predicted below {threshold} (urgent low) within "
    "{minutes} minutes.",
    "news2": "Early-warning score (NEWS2) {score} from the latest home vital signs, at or above "
    "the urgent-review level of {threshold}.",
    "unusual_high": "{name} {value}, {delta} above what is usual for this patient (two readings "
    "in a row).",
    "unusual_low": "{name} {value}, {delta} below what is usual for this patient (two readings "
    "in a row).",
    "missed_measurements": "No readings for {days} days, longer than the {allowed} hours "
    "allowed between measurements.",
    "device_silent": "Device {device} silent for {hours} hours (allowed: {allowed} hours).",
    "late": " (reading taken {age} ago, uploaded late)",
    "age_hours": "{n} hours",
    "age_days": "{n} days",
}

METRIC_NAMES: dict[str, str] = {
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
    "bp_systolic": "Systolic BP",
    "bp_diastolic": "Diastolic BP",
    "glucose": "Glucose",
    "body_weight": "Weight",
    "body_temperature": "Temperature",
    "respiratory_rate": "Respiratory rate",
}
