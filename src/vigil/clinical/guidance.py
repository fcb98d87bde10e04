"""What a patient should do now when a reading is at a dangerous level: the levels, and the
default guidance in one table per language (a care plan may hold the team's own instruction
per kind, in both languages, which then replaces the default's steps).

- Blood pressure at or above the crisis threshold (180/120 mmHg, ACC/AHA 2017, ESH 2023):
  re-measure after 5 minutes seated; still that high, or with chest pain, breathlessness,
  weakness or trouble speaking: call 119.
- Glucose under 70 mg/dL: 15 g of fast sugar, re-check in 15 minutes, repeat until above 70
  (the "15-15 rule", ADA Standards of Care 2024, section 6); under 54 or unable to swallow:
  someone calls 119.
- SpO2 under the plan's level (90 %, 88 % in COPD): the plan's instruction, else rest upright,
  re-measure, 119 when it stays low or breathing is hard.

>>> sorted(GUIDANCE["en"]) == sorted(GUIDANCE["ko"]) == sorted(k.value for k in ActNow)
True
>>> guidance(ActNow.GLUCOSE_LOW, "en", value="62 mg/dL", limit="70 mg/dL")[0]
'Your glucose is low: 62 mg/dL'
>>> said(Metric.BP_SYSTOLIC, (190.0, 125.0)), said(Metric.GLUCOSE, (40.0,), "below")
('190/125 mmHg', 'LOW')
>>> said(Metric.SPO2, (86.0,)), said(Metric.GLUCOSE, (54.0,))
('86%', '54 mg/dL')
"""

from __future__ import annotations

from enum import StrEnum

from vigil.core.languages import Lang
from vigil.core.metrics import Censored, Metric


class ActNow(StrEnum):
    """The kinds of reading that put an ``act_now`` item at the top of the patient's feed."""

    BP_CRISIS = "bp_crisis"
    GLUCOSE_URGENT_LOW = "glucose_urgent_low"
    GLUCOSE_LOW = "glucose_low"
    SPO2_LOW = "spo2_low"


ALERT_CAUSES: dict[ActNow, str] = {
    ActNow.BP_CRISIS: "hypertensive_crisis",
    ActNow.GLUCOSE_URGENT_LOW: "hypoglycemia_urgent",
    ActNow.GLUCOSE_LOW: "hypoglycemia",
    ActNow.SPO2_LOW: "spo2_low",
}
"""The alert the care team works for each kind: their acknowledging or resolving it after the
reading is their reply, and the item goes."""

# (title, steps): {value} is the reading as the patient's meter shows it, {limit} the level.
GUIDANCE: dict[Lang, dict[str, tuple[str, str]]] = {
    "en": {
        "bp_crisis": (
            "Your blood pressure is very high: {value}",
            "Sit quietly for 5 minutes and measure again. If it is still {limit} or higher, "
            "or you have chest pain, shortness of breath, weakness or trouble speaking, "
            "call 119 now.",
        ),
        "glucose_low": (
            "Your glucose is low: {value}",
            "Take 15 g of fast sugar now (half a glass of juice or 3-4 glucose tablets). Check "
            "again in 15 minutes and repeat until it is above {limit}.",
        ),
        "glucose_urgent_low": (
            "Your glucose is dangerously low: {value}",
            "If you can swallow, take 15 g of fast sugar now and ask someone to stay with you. "
            "If you cannot swallow or are becoming confused, someone must call 119.",
        ),
        "spo2_low": (
            "Your oxygen level is low: {value}",
            "Sit upright, rest and measure again. If it stays below {limit} or breathing is "
            "hard, call 119.",
        ),
    },
    "ko": {
        "bp_crisis": (
            "혈압이 매우 높습니다: {value}",
            "5분 동안 앉아서 쉰 뒤 다시 재세요. 그래도 {limit} 이상이거나 가슴 통증, 숨참, "
            "힘 빠짐, 말하기 어려움이 있으면 바로 119에 전화하세요.",
        ),
        "glucose_low": (
            "혈당이 낮습니다: {value}",
            "지금 당분 15 g을 드세요(주스 반 컵 또는 포도당 정제 3~4알). 15분 뒤 다시 재고 "
            "{limit} 이상이 될 때까지 반복하세요.",
        ),
        "glucose_urgent_low": (
            "혈당이 위험할 만큼 낮습니다: {value}",
            "삼킬 수 있으면 지금 당분 15 g을 드시고 곁에 있어 줄 사람을 부르세요. 삼킬 수 "
            "없거나 의식이 흐려지면 주변 사람이 119에 전화해야 합니다.",
        ),
        "spo2_low": (
            "산소포화도가 낮습니다: {value}",
            "똑바로 앉아 쉬고 다시 재세요. 계속 {limit} 미만이거나 숨쉬기 힘들면 119에 전화하세요.",
        ),
    },
}


def guidance(kind: ActNow, lang: Lang, *, value: str, limit: str) -> tuple[str, str]:
    """The default title and steps for ``kind`` in ``lang``, filled in."""
    title, steps = GUIDANCE[lang][kind.value]
    return title.format(value=value, limit=limit), steps.format(value=value, limit=limit)


UNITS: dict[Metric, str] = {
    Metric.BP_SYSTOLIC: " mmHg",
    Metric.GLUCOSE: " mg/dL",
    Metric.SPO2: "%",
}
"""How the meters a patient holds write each kind's unit (Korean and English alike)."""
CENSORED_SAID: dict[Censored, str] = {"below": "LOW", "above": "HIGH"}
"""A CGM's out-of-range marks, said as the CGM shows them."""


def said(metric: Metric, values: tuple[float, ...], censored: Censored | None = None) -> str:
    """A reading as the patient's meter shows it: blood pressure as one value, systolic over
    diastolic; a CGM's LOW and HIGH as such."""
    if censored is not None:
        return CENSORED_SAID[censored]
    return "/".join(f"{v:.0f}" for v in values) + UNITS[metric]
