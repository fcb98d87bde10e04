"""The act-now guidance, string by string in both languages: what a frightened patient reads."""

from __future__ import annotations

import pytest

from vigil.clinical.guidance import GUIDANCE, ActNow, guidance

EXPECTED = {
    ("bp_crisis", "en"): (
        "Your blood pressure is very high: 190/125 mmHg",
        "Sit quietly for 5 minutes and measure again. If it is still 180/120 mmHg or higher, or "
        "you have chest pain, shortness of breath, weakness or trouble speaking, call 119 now.",
    ),
    ("bp_crisis", "ko"): (
        "혈압이 매우 높습니다: 190/125 mmHg",
        "5분 동안 앉아서 쉰 뒤 다시 재세요. 그래도 180/120 mmHg 이상이거나 가슴 통증, 숨참, "
        "힘 빠짐, 말하기 어려움이 있으면 바로 119에 전화하세요.",
    ),
    ("glucose_low", "en"): (
        "Your glucose is low: 62 mg/dL",
        "Take 15 g of fast sugar now (half a glass of juice or 3-4 glucose tablets). Check again "
        "in 15 minutes and repeat until it is above 70 mg/dL.",
    ),
    ("glucose_low", "ko"): (
        "혈당이 낮습니다: 62 mg/dL",
        "지금 당분 15 g을 드세요(주스 반 컵 또는 포도당 정제 3~4알). 15분 뒤 다시 재고 "
        "70 mg/dL 이상이 될 때까지 반복하세요.",
    ),
    ("glucose_urgent_low", "en"): (
        "Your glucose is dangerously low: LOW",
        "If you can swallow, take 15 g of fast sugar now and ask someone to stay with you. If "
        "you cannot swallow or are becoming confused, someone must call 119.",
    ),
    ("glucose_urgent_low", "ko"): (
        "혈당이 위험할 만큼 낮습니다: LOW",
        "삼킬 수 있으면 지금 당분 15 g을 드시고 곁에 있어 줄 사람을 부르세요. 삼킬 수 없거나 "
        "의식이 흐려지면 주변 사람이 119에 전화해야 합니다.",
    ),
    ("spo2_low", "en"): (
        "Your oxygen level is low: 86%",
        "Sit upright, rest and measure again. If it stays below 88% or breathing is hard, "
        "call 119.",
    ),
    ("spo2_low", "ko"): (
        "산소포화도가 낮습니다: 86%",
        "똑바로 앉아 쉬고 다시 재세요. 계속 88% 미만이거나 숨쉬기 힘들면 119에 전화하세요.",
    ),
}
VALUES = {
    "bp_crisis": ("190/125 mmHg", "180/120 mmHg"),
    "glucose_low": ("62 mg/dL", "70 mg/dL"),
    "glucose_urgent_low": ("LOW", "54 mg/dL"),
    "spo2_low": ("86%", "88%"),
}


@pytest.mark.parametrize(("kind", "lang"), sorted(EXPECTED))
def test_each_kind_in_each_language(kind: str, lang: str) -> None:
    value, limit = VALUES[kind]
    assert guidance(ActNow(kind), lang, value=value, limit=limit) == EXPECTED[kind, lang]  # type: ignore[arg-type]


def test_every_kind_has_words_in_both_languages() -> None:
    assert {(k, lang) for lang in GUIDANCE for k in GUIDANCE[lang]} == set(EXPECTED)
