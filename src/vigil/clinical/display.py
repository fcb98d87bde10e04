"""How a clinical value is written, on every page, sentence, webhook and report.

One table of display decimals and unit spellings: the API's sentences format through
:func:`format_value`, and the pages' scripts read the same tables (embedded in each page), so
a weight is ``81.4 kg`` and an insulin bolus ``4.50 U`` everywhere.

>>> format_value(Metric.SPO2, 86.0), format_value(Metric.BODY_WEIGHT, 81.44)
('86%', '81.4 kg')
>>> format_bp(195.0, 109.0), format_value(Metric.GLUCOSE, 40.0, censored="below")
('195/109 mmHg', 'LOW (40 mg/dL or less)')
"""

from __future__ import annotations

from vigil.core.metrics import SPECS, Metric

DISPLAY_DECIMALS: dict[Metric, int] = {
    Metric.HEART_RATE: 0,
    Metric.RESPIRATORY_RATE: 0,
    Metric.SPO2: 0,
    Metric.BP_SYSTOLIC: 0,
    Metric.BP_DIASTOLIC: 0,
    Metric.GLUCOSE: 0,
    Metric.BODY_WEIGHT: 1,
    Metric.BODY_TEMPERATURE: 1,
    Metric.INSULIN: 2,  # pumps deliver in 0.05 U steps: 2.35 U is not 2.4 U
    Metric.CARBS: 0,
    Metric.STEPS: 0,
}
"""Decimals a clinician writes each metric with."""

UNIT_TEXT: dict[str, str] = {
    "/min": "/min",
    "%": "%",
    "mm[Hg]": "mmHg",
    "mg/dL": "mg/dL",
    "mmol/L": "mmol/L",
    "kg": "kg",
    "Cel": "°C",
    "[iU]": "U",
    "g": "g",
}
"""UCUM unit -> how it is written for a person."""

TIGHT_UNITS = frozenset({"%", "°C", "/min"})
"""Units written without a space after the number in sentences (``86%``, ``38.2°C``)."""


def unit_text(metric: Metric) -> str:
    ucum = SPECS[metric].ucum
    return UNIT_TEXT.get(ucum, ucum)


def number(metric: Metric, value: float, extra: int = 0) -> str:
    """The bare number with the metric's decimals (plus ``extra``)."""
    return f"{value:.{DISPLAY_DECIMALS.get(metric, 1) + extra}f}"


CENSORED: dict[str, dict[str, str]] = {
    "en": {"below": "LOW ({value} or less)", "above": "HIGH ({value} or more)"},
    "ko": {"below": "LOW ({value} 이하)", "above": "HIGH ({value} 이상)"},
}
"""A device's LOW / HIGH mark (a CGM's reading past its range), with the bound it stands for."""


def format_value(
    metric: Metric,
    value: float,
    *,
    censored: str | None = None,
    extra: int = 0,
    lang: str = "en",
) -> str:
    """A value with its unit (``86%``, ``81.4 kg``); a device's LOW / HIGH mark as such."""
    unit = unit_text(metric)
    sep = "" if unit in TIGHT_UNITS else " "
    text = f"{number(metric, value, extra)}{sep}{unit}"
    marks = CENSORED.get(lang, CENSORED["en"])
    if censored in marks:
        return marks[censored].format(value=text)
    return text


def format_against(metric: Metric, value: float, threshold: float) -> tuple[str, str]:
    """A value and the threshold it crossed, with one decimal more when the rounded value
    would read as the threshold itself (53.6 against 54 is ``53.6 mg/dL``, not ``54 mg/dL``)."""
    extra = 0
    if value != threshold and number(metric, value) == number(metric, threshold):
        extra = 1
    return format_value(metric, value, extra=extra), format_value(metric, threshold)


def format_bp(systolic: float | None, diastolic: float | None) -> str:
    """Blood pressure as clinicians write it: systolic first, one unit (``138/86 mmHg``)."""
    sys_text = "?" if systolic is None else number(Metric.BP_SYSTOLIC, systolic)
    dia_text = "?" if diastolic is None else number(Metric.BP_DIASTOLIC, diastolic)
    return f"{sys_text}/{dia_text} mmHg"


def display_tables() -> dict[str, dict[str, object]]:
    """The tables a page's scripts format with (embedded in each page's messages)."""
    return {
        "decimals": {m.value: d for m, d in DISPLAY_DECIMALS.items()},
        "units": dict(UNIT_TEXT),
        "metric_units": {m.value: s.ucum for m, s in SPECS.items()},
    }
