"""Alerts as the API answers them: each explanation worded in the caller's language, with the
English beside it for audit (:mod:`vigil.clinical.wording`)."""

from __future__ import annotations

import json
from typing import Any

from vigil.clinical.wording import explain_both


def worded(alert: dict[str, Any], lang: str) -> dict[str, Any]:
    """``alert`` (an AlertPublic's fields) with ``explanation.sentence`` in ``lang`` and
    ``explanation_en`` (also ``explanation.sentence_en``) in English."""
    explanation = dict(alert.get("explanation") or {})
    sentence, english = explain_both(
        explanation,
        cause=str(alert.get("cause") or ""),
        detector=str(alert.get("detector") or ""),
        lang=lang,
    )
    explanation.update(sentence=sentence, sentence_en=english, lang=lang)
    return {**alert, "explanation": explanation, "explanation_en": english}


def worded_body(body: bytes, lang: str) -> bytes:
    """A JSON array of alerts (as PostgreSQL built it), worded in ``lang``."""
    alerts = json.loads(body)
    return json.dumps([worded(a, lang) for a in alerts], ensure_ascii=False).encode()
