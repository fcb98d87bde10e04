"""The feed cards' words, in Korean and English: one table per kind with both languages side by
side, and one function per kind that picks the sentence from the card's ``data`` and fills it.

Cards are worded when they are read (:func:`card_words`), from the ``data`` the coach stored
with them, so a stored card needs no re-generation to be read in the other language. The coach
words its cards in English with the same function for the stored ``title`` and ``body``.

>>> card_words("streak", {"days": 5}, "good", "ko")
('5일 연속 측정', '5일 연속으로 측정하셨어요. 계속 이어 가 주세요. 진료팀에 큰 도움이 돼요.')
>>> bp = {"systolic": 128, "diastolic": 80, "readings": 6, "target": "135/85"}
>>> print(card_words("bp_week", bp, "note", "ko")[1])  # doctest: +NORMALIZE_WHITESPACE
최근 7일 동안 집에서 잰 혈압은 평균 128/80 mmHg였어요(측정 6회). 목표는 135/85 mmHg 미만이에요.
진료팀이 함께 살펴보고 있어요. 매일 같은 시간에 재 주시면 전체 흐름을 보는 데 도움이 돼요.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from vigil.core.languages import Lang

Words = Mapping[Lang, str]
Data = Mapping[str, Any]

BP_WEEK: dict[str, Words] = {
    "title": {"en": "Your blood pressure this week", "ko": "이번 주 혈압"},
    "good": {
        "en": "Your home blood pressure averaged {bp} over the last 7 days ({n} readings). "
        "That is within your target of under {target}. Well done.",
        "ko": "최근 7일 동안 집에서 잰 혈압은 평균 {bp}였어요(측정 {n}회). "
        "목표인 {target} 미만이에요. 잘하고 계세요.",
    },
    "note": {
        "en": "Your home blood pressure averaged {bp} over the last 7 days ({n} readings). "
        "Your target is under {target}. Your care team looks at this with you; keep measuring "
        "at the same times each day so they see the full picture.",
        "ko": "최근 7일 동안 집에서 잰 혈압은 평균 {bp}였어요(측정 {n}회). "
        "목표는 {target} 미만이에요. 진료팀이 함께 살펴보고 있어요. 매일 같은 시간에 재 주시면 "
        "전체 흐름을 보는 데 도움이 돼요.",
    },
}

TIR_WEEK: dict[str, Words] = {
    "title": {"en": "Your glucose this week", "ko": "이번 주 혈당"},
    "reached": {
        "en": "Your glucose was in your range ({range}) {pct} of the time over the last 7 days. "
        "Your goal is {goal} or more: you reached it. Well done.",
        "ko": "최근 7일 동안 혈당이 목표 범위({range}) 안에 있었던 시간은 {pct}예요. "
        "목표인 {goal} 이상을 달성하셨어요. 잘하셨어요.",
    },
    "short": {
        "en": "Your glucose was in your range ({range}) {pct} of the time over the last 7 days. "
        "Your goal is {goal} or more. Small steps count; your care team can help.",
        "ko": "최근 7일 동안 혈당이 목표 범위({range}) 안에 있었던 시간은 {pct}예요. "
        "목표는 {goal} 이상이에요. 작은 변화도 도움이 돼요. 진료팀이 도와드릴게요.",
    },
    "too_low": {
        "en": " It was under {low} {below} of the time, more than the {limit} we aim for: "
        "keep a sugary snack close and mention it at your next call.",
        "ko": " {low} 미만이었던 시간이 {below}로, 목표({limit} 미만)보다 많았어요. 당분이 든 "
        "간식을 가까이 두시고 다음 통화 때 말씀해 주세요.",
    },
}

WEIGHT_WEEK: dict[str, Words] = {
    "title": {"en": "Your weight this week", "ko": "이번 주 체중"},
    "up": {
        "en": "Your weight averaged {avg} over the last 7 days, {change} more than the week "
        "before. With your heart, your care team watches this closely: please keep weighing "
        "each morning, and tell them if your ankles swell or you get short of breath.",
        "ko": "최근 7일 동안 체중은 평균 {avg}으로, 지난주보다 {change} 늘었어요. 심장 건강과 "
        "관련이 있어 진료팀이 주의 깊게 보고 있어요. 매일 아침 체중을 재 주시고, 발목이 붓거나 "
        "숨이 차면 진료팀에 알려 주세요.",
    },
    "down": {
        "en": "Your weight averaged {avg} over the last 7 days, {change} less than the week "
        "before.",
        "ko": "최근 7일 동안 체중은 평균 {avg}으로, 지난주보다 {change} 줄었어요.",
    },
    "steady": {
        "en": "Your weight averaged {avg} over the last 7 days: steady, within {rise} of the "
        "week before. Good.",
        "ko": "최근 7일 동안 체중은 평균 {avg}으로, 지난주와 비교해 {rise} 이내로 안정적이에요. "
        "좋아요.",
    },
}

STREAK: dict[str, Words] = {
    "title": {"en": "{n} days in a row", "ko": "{n}일 연속 측정"},
    "body": {
        "en": "You have measured {n} days in a row. Keep it going: it helps your care team.",
        "ko": "{n}일 연속으로 측정하셨어요. 계속 이어 가 주세요. 진료팀에 큰 도움이 돼요.",
    },
}

REMINDER: dict[str, Words] = {
    "title": {"en": "A gentle reminder", "ko": "잠깐 알려 드려요"},
    "body": {
        "en": "We have not had your {what} since {date}. When you have a moment today, "
        "please {doing}.",
        "ko": "{date} 이후로 {what} 기록이 없어요. 오늘 잠시 시간 나실 때 {doing}.",
    },
}

MEASURES = {
    "bp_systolic": "blood_pressure",
    "bp_diastolic": "blood_pressure",
    "glucose": "glucose",
    "body_weight": "weight",
    "spo2": "oxygen",
    "heart_rate": "heart_rate",
    "body_temperature": "temperature",
    "respiratory_rate": "breathing",
}
"""What a reminder is about, per measured metric (blood pressure's two numbers are one measurement;
a treatment or a wearable's steps, :data:`~vigil.core.metrics.NOT_VITALS`, is not one)."""

MEASURE_NAMES: dict[str, Words] = {
    "blood_pressure": {"en": "blood pressure", "ko": "혈압"},
    "glucose": {"en": "glucose", "ko": "혈당"},
    "weight": {"en": "weight", "ko": "체중"},
    "oxygen": {"en": "oxygen level", "ko": "산소포화도"},
    "heart_rate": {"en": "heart rate", "ko": "심박수"},
    "temperature": {"en": "temperature", "ko": "체온"},
    "breathing": {"en": "breathing rate", "ko": "호흡수"},
}
MEASURE_DOING: dict[str, Words] = {
    "blood_pressure": {"en": "take your blood pressure", "ko": "혈압을 재 주세요"},
    "glucose": {"en": "check your glucose", "ko": "혈당을 재 주세요"},
    "weight": {"en": "weigh yourself", "ko": "체중을 재 주세요"},
    "oxygen": {"en": "check your oxygen level", "ko": "산소포화도를 재 주세요"},
    "heart_rate": {"en": "check your heart rate", "ko": "심박수를 재 주세요"},
    "temperature": {"en": "take your temperature", "ko": "체온을 재 주세요"},
    "breathing": {"en": "check your breathing rate", "ko": "호흡수를 재 주세요"},
}
SOMETHING_DOING: Words = {"en": "measure it", "ko": "측정해 주세요"}
"""A measurement with no words of its own (a metric added after these tables)."""

KO_WEEKDAYS = "월화수목금토일"


def measure_of(metric: str) -> str:
    """The measurement a metric's reminder is about (``bp_diastolic`` -> ``blood_pressure``)."""
    return MEASURES.get(metric, metric)


def measure_name(measure: str, lang: Lang) -> str:
    """The measurement in words (``혈압``, ``blood pressure``); an unknown one as its name."""
    words = MEASURE_NAMES.get(measure)
    return words[lang] if words else measure.replace("_", " ")


def percent(share: float) -> str:
    """A share as a whole percentage, as both languages write it: ``0.8`` -> ``80%``."""
    return f"{round(share * 100)}%"


def kg(value: float) -> str:
    return f"{value:.1f} kg"


def mg_dl(value: float) -> str:
    return f"{value:.0f} mg/dL"


def glucose_range(low: float, high: float, lang: Lang) -> str:
    """``70-180 mg/dL``; Korean writes a range with a tilde: ``70~180 mg/dL``."""
    dash = "~" if lang == "ko" else "-"
    return f"{low:.0f}{dash}{high:.0f} mg/dL"


def day(when: datetime, lang: Lang, zone: tzinfo) -> str:
    """A day as each language writes it, in ``zone``: ``11월 26일(목)``,
    ``Thursday 26 November``."""
    local = when.astimezone(zone)
    if lang == "ko":
        return f"{local.month}월 {local.day}일({KO_WEEKDAYS[local.weekday()]})"
    return f"{local:%A} {local.day} {local:%B}"


def _bp_week(data: Data, tone: str, lang: Lang, zone: tzinfo) -> tuple[str, str]:
    sentence = BP_WEEK["good" if tone == "good" else "note"][lang]
    bp, target = f"{data['systolic']}/{data['diastolic']} mmHg", f"{data['target']} mmHg"
    return BP_WEEK["title"][lang], sentence.format(bp=bp, n=data["readings"], target=target)


def _tir_week(data: Data, tone: str, lang: Lang, zone: tzinfo) -> tuple[str, str]:
    body = TIR_WEEK["reached" if data["reached"] else "short"][lang].format(
        range=glucose_range(data["low"], data["high"], lang),
        pct=percent(data["in_range"]),
        goal=f"{data['goal']}%",
    )
    if data["too_low"]:
        body += TIR_WEEK["too_low"][lang].format(
            low=mg_dl(data["low"]), below=percent(data["below"]), limit=percent(data["limit"])
        )
    return TIR_WEEK["title"][lang], body


def _weight_week(data: Data, tone: str, lang: Lang, zone: tzinfo) -> tuple[str, str]:
    body = WEIGHT_WEEK[data["trend"]][lang].format(
        avg=kg(data["avg_kg"]), change=kg(abs(data["change_kg"])), rise=f"{data['rise_kg']:.0f} kg"
    )
    return WEIGHT_WEEK["title"][lang], body


def _streak(data: Data, tone: str, lang: Lang, zone: tzinfo) -> tuple[str, str]:
    n = data["days"]
    return STREAK["title"][lang].format(n=n), STREAK["body"][lang].format(n=n)


def _reminder(data: Data, tone: str, lang: Lang, zone: tzinfo) -> tuple[str, str]:
    measure = data["measure"]
    doing = MEASURE_DOING.get(measure, SOMETHING_DOING)[lang]
    when = day(datetime.fromisoformat(data["last"]), lang, zone)
    body = REMINDER["body"][lang].format(what=measure_name(measure, lang), date=when, doing=doing)
    return REMINDER["title"][lang], body


Render = Callable[[Data, str, Lang, tzinfo], tuple[str, str]]
KINDS: dict[str, tuple[frozenset[str], Render]] = {
    "bp_week": (frozenset({"systolic", "diastolic", "readings", "target"}), _bp_week),
    "tir_week": (
        frozenset({"in_range", "below", "goal", "low", "high", "limit", "reached", "too_low"}),
        _tir_week,
    ),
    "weight_week": (frozenset({"change_kg", "avg_kg", "rise_kg", "trend"}), _weight_week),
    "streak": (frozenset({"days"}), _streak),
    "reminder": (frozenset({"last", "measure"}), _reminder),
}
"""Each kind's words: the ``data`` they need, and the function that picks and fills them."""


def card_words(
    kind: str, data: Data, tone: str, lang: Lang, zone: tzinfo = UTC
) -> tuple[str, str] | None:
    """A card's title and body in ``lang``, days in ``zone``; ``None`` for a card whose
    ``data`` lacks what its words need (one stored before the data carried it: its stored
    English ``title`` and ``body`` are all there is)."""
    needs, render = KINDS.get(kind, (None, None))
    if needs is None or render is None or not needs <= data.keys():
        return None
    return render(data, tone, lang, zone)
