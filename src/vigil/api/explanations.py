"""Alerts as the API answers them: each explanation worded in the caller's language, with the
English beside it for audit (:mod:`vigil.clinical.wording`), and the readings the card shows
(opened, latest, worst) written as clinicians write them."""

from __future__ import annotations

import json
from typing import Any

from vigil.clinical.display import format_bp, format_value
from vigil.clinical.wording import explain_both
from vigil.core.metrics import Metric

READINGS = ("opened", "latest", "worst")


def worded(alert: dict[str, Any], lang: str) -> dict[str, Any]:
    """``alert`` (an AlertPublic's fields) with ``explanation.sentence`` in ``lang`` and
    ``explanation_en`` (also ``explanation.sentence_en``) in English, and its readings'
    ``text``."""
    explanation = dict(alert.get("explanation") or {})
    sentence, english = explain_both(
        explanation,
        cause=str(alert.get("cause") or ""),
        detector=str(alert.get("detector") or ""),
        lang=lang,
    )
    explanation.update(sentence=sentence, sentence_en=english, lang=lang)
    readings = {k: _reading(alert, k, lang) for k in READINGS}
    return {**alert, **readings, "explanation": explanation, "explanation_en": english}


def change_in(change: dict[str, Any], lang: str) -> dict[str, Any]:
    """An alert change (``AlertChange.as_json``) with ``explanation`` in ``lang`` and the
    English as ``explanation_en``."""
    english = change.get("explanation") or ""
    sentence = change.get(f"explanation_{lang}") if lang != "en" else None
    return {**change, "explanation": sentence or english, "explanation_en": english}


def worded_body(body: bytes, lang: str) -> bytes:
    """A JSON array of alerts (as PostgreSQL built it), worded in ``lang``."""
    alerts = json.loads(body)
    return json.dumps([worded(a, lang) for a in alerts], ensure_ascii=False).encode()


def _reading(alert: dict[str, Any], key: str, lang: str) -> dict[str, Any] | None:
    """One of the card's readings with its text; for an alert opened before they were kept,
    the first, last and worst values it has."""
    reading = alert.get(key)
    if reading is None:
        metrics = alert.get("metrics") or [None]
        fallback = {
            "opened": (alert.get("first_seen"), None),
            "latest": (alert.get("last_seen"), alert.get("last_value")),
            "worst": (alert.get("last_seen"), alert.get("worst_value")),
        }[key]
        if fallback[0] is None or fallback[1] is None:
            return None
        reading = {"time": fallback[0], "metric": metrics[0], "value": fallback[1]}
    return {**reading, "text": reading_text(reading, lang)}


def reading_text(reading: dict[str, Any], lang: str) -> str:
    """``195/109 mmHg``, ``LOW (40 mg/dL 이하)``, ``86%``; blank for an unknown metric."""
    if reading.get("systolic") is not None or reading.get("diastolic") is not None:
        return format_bp(reading.get("systolic"), reading.get("diastolic"))
    try:
        metric = Metric(str(reading.get("metric")))
    except ValueError:
        return ""
    if reading.get("value") is None:
        return ""
    return format_value(
        metric, float(reading["value"]), censored=reading.get("censored"), lang=lang
    )
