"""A finding's sentence, made when it is read, in the reader's language.

A finding carries its kind (``Explanation.code``, the cause) and its values (the reading,
the threshold or personal band, the trend, the lag, the upload delay); this module picks the
template of that kind from one table per language (:mod:`~vigil.clinical.wording_en`,
:mod:`~vigil.clinical.wording_ko`) and fills it with values formatted as clinicians write them
(:mod:`vigil.clinical.display`). A stored explanation without a code (an alert older than the
codes) keeps its stored English sentence.

>>> e = {"code": "hypertensive_crisis", "value": 109.0, "threshold": 120.0, "details": {
...     "systolic": 195.0, "diastolic": 109.0, "limit_systolic": 180.0,
...     "limit_diastolic": 120.0}, "sentence": "stored"}
>>> print(explain(e, cause="hypertensive_crisis", detector="bp_crisis", lang="ko"))
혈압 195/109 mmHg, 고혈압 위기 기준(180/120 mmHg) 이상입니다.
>>> print(explain(e, cause="hypertensive_crisis", detector="bp_crisis", lang="en"))
Blood pressure 195/109 mmHg, at or above the 180/120 mmHg hypertensive-crisis threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vigil.clinical import wording_en, wording_ko
from vigil.clinical.careplan import URGENT_GLUCOSE_LOW
from vigil.clinical.display import format_against, format_bp, format_value
from vigil.core.metrics import Metric

TABLES: dict[str, dict[str, str]] = {"en": wording_en.TEMPLATES, "ko": wording_ko.TEMPLATES}
METRIC_NAMES: dict[str, dict[str, str]] = {
    "en": wording_en.METRIC_NAMES,
    "ko": wording_ko.METRIC_NAMES,
}
MISSING_DATA = "missing_data"
"""The detector whose findings (built outside the detector contract) carry no code: their
cause is their kind."""
DAY_S = 86400.0

Values = dict[str, Any]
Words = tuple[str, Values]
"""A template key and the values it is filled with."""


def explain(explanation: Mapping[str, Any], *, cause: str, detector: str, lang: str) -> str:
    """The explanation's sentence in ``lang`` (``ko`` or ``en``), its values as clinicians
    write them; the stored sentence when it carries no code or its kind has no template."""
    stored = str(explanation.get("sentence") or "")
    code = str(explanation.get("code") or (cause if detector == MISSING_DATA else ""))
    table = TABLES.get(lang, TABLES["en"])
    details = explanation.get("details") or {}
    detector = str(details.get("detector") or detector)
    try:
        words = _words(code, detector, explanation, lang)
    except (KeyError, TypeError, ValueError):
        words = None
    if words is None:
        return stored
    key, values = words
    text = table[key].format(**values)
    age = float(explanation.get("data_age_s") or 0.0)
    if age >= 3600 and detector != MISSING_DATA:
        text += table["late"].format(age=_age(age, table))
    usual = details.get("usual") if isinstance(details, Mapping) else None
    if isinstance(usual, Mapping) and usual.get(lang):
        text += f" {usual[lang]}"
    return text


def explain_both(
    explanation: Mapping[str, Any], *, cause: str, detector: str, lang: str
) -> tuple[str, str]:
    """(the sentence in ``lang``, the English one for audit)."""
    english = explain(explanation, cause=cause, detector=detector, lang="en")
    if lang == "en":
        return english, english
    return explain(explanation, cause=cause, detector=detector, lang=lang), english


def _age(seconds: float, table: Mapping[str, str]) -> str:
    if seconds >= 2 * DAY_S:
        return table["age_days"].format(n=f"{seconds / DAY_S:.0f}")
    return table["age_hours"].format(n=f"{seconds / 3600:.0f}")


def _words(code: str, detector: str, e: Mapping[str, Any], lang: str) -> Words | None:
    build = _BUILDERS.get(code)
    return None if build is None else build(detector, e, lang)


def _value(e: Mapping[str, Any], metric: Metric, lang: str) -> str:
    d = e.get("details") or {}
    return format_value(metric, float(e["value"]), censored=d.get("censored"), lang=lang)


def _crisis(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    d = e["details"]
    return "hypertensive_crisis", {
        "bp": format_bp(d.get("systolic"), d.get("diastolic")),
        "limit": format_bp(d["limit_systolic"], d["limit_diastolic"]),
    }


def _below(metric: Metric, key: str) -> Callable[[str, Mapping[str, Any], str], Words]:
    """A reading against one threshold: the value shown so that it never reads as the
    threshold it crossed."""

    def build(detector: str, e: Mapping[str, Any], lang: str) -> Words:
        d = e.get("details") or {}
        value, threshold = format_against(metric, float(e["value"]), float(e["threshold"]))
        if d.get("censored"):
            value = _value(e, metric, lang)
        return key, {"value": value, "threshold": threshold}

    return build


def _urgent_low(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    key, values = _below(Metric.GLUCOSE, "hypoglycemia_urgent")(detector, e, lang)
    d = e.get("details") or {}
    if float(e["value"]) >= float(e["threshold"]) and "lag_min" in d:
        # stored by the lag-corrected rule of before the noise-aware filter: the corrected value
        # crossed, not the reading
        values = {"value": _value(e, Metric.GLUCOSE, lang), "lag_min": f"{d['lag_min']:.0f}"}
        return "hypoglycemia_urgent_lag", values
    return key, values


def _low(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    key, values = _below(Metric.GLUCOSE, "hypoglycemia")(detector, e, lang)
    d = e.get("details") or {}
    if d.get("urgent_unconfirmed"):
        values["urgent"] = format_value(Metric.GLUCOSE, URGENT_GLUCOSE_LOW)
        held = d.get("held")
        if held == "drift":
            drift = format_value(Metric.GLUCOSE, float(d["drift_mg_dl"]))
            return "hypoglycemia_unconfirmed_drift", {
                **values,
                "drift": drift,
                "minutes": d["wait_min"],
            }
        return "hypoglycemia_unconfirmed", values
    return key, values


def _heart(key: str) -> Callable[[str, Mapping[str, Any], str], Words]:
    def build(detector: str, e: Mapping[str, Any], lang: str) -> Words:
        if detector == "resting_heart_rate":
            return _above_usual(Metric.HEART_RATE, "tachycardia_above_usual", e, lang)
        _, values = _below(Metric.HEART_RATE, key)(detector, e, lang)
        minutes = float((e.get("details") or {}).get("lasted_s") or 0.0) / 60
        if minutes >= 1:
            return f"{key}_lasting", {**values, "minutes": f"{minutes:.0f}"}
        return key, values

    return build


def _above_usual(metric: Metric, key: str, e: Mapping[str, Any], lang: str) -> Words:
    """A reading against the patient's own usual value (``baseline``) and the rule's limit."""
    value, usual = float(e["value"]), float(e["baseline"])
    d = e.get("details") or {}
    values: Values = {
        "value": format_value(metric, value),
        "delta": format_value(metric, value - usual),
        "usual": format_value(metric, usual),
        "threshold": format_value(metric, float(e["threshold"])),
    }
    if "lasted_s" in d:
        values["minutes"] = f"{float(d['lasted_s']) / 60:.0f}"
    return key, values


def _fever(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    if detector == "temperature_baseline":
        return _above_usual(Metric.BODY_TEMPERATURE, "fever_above_usual", e, lang)
    return _below(Metric.BODY_TEMPERATURE, "fever")(detector, e, lang)


def _weight(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    kg = Metric.BODY_WEIGHT
    value, baseline = float(e["value"]), float(e["baseline"])
    if detector == "hf_weight_baseline":
        d = e["details"]
        return "hf_weight_baseline", {
            "value": format_value(kg, value),
            "excess": format_value(kg, value - baseline),
            "baseline": format_value(kg, baseline),
            "previous": format_value(kg, float(d["previous_kg"])),
        }
    return "hf_weight_gain", {
        "gain": format_value(kg, value - baseline),
        "start": format_value(kg, baseline),
        "value": format_value(kg, value),
        "threshold": format_value(kg, float(e["threshold"])),
        "days": f"{float(e['window_s']) / DAY_S:g}",
    }


def _copd(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    value, baseline = float(e["value"]), float(e["baseline"])
    return "copd_exacerbation", {
        "value": format_value(Metric.SPO2, value),
        "drop": f"{baseline - value:.1f}",
        "baseline": format_value(Metric.SPO2, baseline, extra=1),
    }


def _bp_average(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    d = e["details"]
    return "bp_above_target", {
        "bp": format_bp(float(e["value"]), d["diastolic"]),
        "days": f"{float(e['window_s']) / DAY_S:g}",
        "readings": d["readings"],
        "target": format_bp(float(e["threshold"]), d["target_diastolic"]),
    }


def _predicted_low(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    d = e["details"]
    values: Values = {
        "value": _value(e, Metric.GLUCOSE, lang),
        "threshold": format_value(Metric.GLUCOSE, float(e["threshold"])),
    }
    if d.get("basis") == "insulin_on_board":
        values.update(
            insulin=format_value(Metric.INSULIN, float(d["insulin_on_board_u"])),
            minutes=f"{float(d['below_at_min']):.0f}",
        )
        carbs = float(d.get("carbs_on_board_g") or 0)
        if carbs >= 1:
            return "predicted_low_insulin_carbs", {**values, "carbs": f"{carbs:.0f}"}
        return "predicted_low_insulin", values
    values.update(
        rate=f"{abs(float(d['rate_mg_dl_per_min'])):.1f}",
        # the filter's forecast says when (in_min); the straight line of before, its horizon
        horizon=f"{float(d.get('in_min') or d['horizon_min']):.0f}",
    )
    return "predicted_low", values


def _news2(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    return "news2", {"score": f"{float(e['value']):.0f}", "threshold": f"{e['threshold']:.0f}"}


def _unusual(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    metric = Metric(e["details"]["metric"])
    value, baseline = float(e["value"]), float(e["baseline"])
    return "unusual_high" if value > baseline else "unusual_low", {
        "name": METRIC_NAMES[lang][metric.value],
        "value": format_value(metric, value),
        "delta": format_value(metric, abs(value - baseline)),
    }


def _missed(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    return "missed_measurements", {
        "days": f"{float(e['value']) / 24:.1f}",
        "allowed": f"{float(e['threshold']):.0f}",
    }


def _silent(detector: str, e: Mapping[str, Any], lang: str) -> Words:
    return "device_silent", {
        "device": e["details"]["device_id"],
        "hours": f"{float(e['value']):.1f}",
        "allowed": f"{float(e['threshold']):.0f}",
    }


_BUILDERS: dict[str, Callable[[str, Mapping[str, Any], str], Words]] = {
    "hypertensive_crisis": _crisis,
    "spo2_low": _below(Metric.SPO2, "spo2_low"),
    "hypoglycemia_urgent": _urgent_low,
    "hypoglycemia": _low,
    "hyperglycemia": _below(Metric.GLUCOSE, "hyperglycemia"),
    "tachycardia": _heart("tachycardia"),
    "bradycardia": _heart("bradycardia"),
    "fever": _fever,
    "hf_decompensation": _weight,
    "copd_exacerbation": _copd,
    "bp_above_target": _bp_average,
    "predicted_low": _predicted_low,
    "news2": _news2,
    "unusual_for_patient": _unusual,
    "missed_measurements": _missed,
    "device_silent": _silent,
}
"""Every kind of finding the detectors make, and how its values fill its template."""

__all__ = ["explain", "explain_both"]
