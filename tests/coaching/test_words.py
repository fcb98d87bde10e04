"""The feed cards' words in Korean and English, from the data the coach stores: every kind in
both languages, values as clinicians write them. No database, no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.coaching import FeedItem, Point, Targets, card_words, coach
from vigil.coaching.words import KINDS, MEASURE_DOING, MEASURE_NAMES, MEASURES
from vigil.core.languages import LANGS, Lang
from vigil.core.metrics import NOT_VITALS, Metric

NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
SEOUL = ZoneInfo("Asia/Seoul")


def one(items: list[FeedItem], kind: str) -> FeedItem:
    [item] = [i for i in items if i.kind == kind]
    return item


def words(item: FeedItem, lang: Lang) -> tuple[str, str]:
    got = card_words(item.kind, item.data, item.tone, lang, SEOUL)
    assert got is not None, item
    return got


def bp(systolic: float, diastolic: float, days: int = 5) -> list[Point]:
    out = []
    for d in range(days):
        t = NOW - timedelta(days=d, hours=2)
        out += [Point(t, "bp_systolic", systolic), Point(t, "bp_diastolic", diastolic)]
    return out


def cgm(values: list[float]) -> list[Point]:
    return [Point(NOW - timedelta(minutes=15 * k), "glucose", v) for k, v in enumerate(values)]


def weights(last_week: float, this_week: float) -> list[Point]:
    return [
        Point(NOW - timedelta(days=d, hours=12), "body_weight", this_week if d < 7 else last_week)
        for d in range(14)
    ]


def test_blood_pressure_in_korean_and_english() -> None:
    good = one(coach(bp(128.4, 81.6), now=NOW), "bp_week")
    assert words(good, "ko") == (
        "이번 주 혈압",
        "최근 7일 동안 집에서 잰 혈압은 평균 128/82 mmHg였어요(측정 5회). "
        "목표인 135/85 mmHg 미만이에요. 잘하고 계세요.",
    )
    assert words(good, "en") == (
        "Your blood pressure this week",
        "Your home blood pressure averaged 128/82 mmHg over the last 7 days (5 readings). "
        "That is within your target of under 135/85 mmHg. Well done.",
    )
    high = one(coach(bp(142, 88), now=NOW), "bp_week")
    assert words(high, "ko")[1] == (
        "최근 7일 동안 집에서 잰 혈압은 평균 142/88 mmHg였어요(측정 5회). "
        "목표는 135/85 mmHg 미만이에요. 진료팀이 함께 살펴보고 있어요. 매일 같은 시간에 재 주시면 "
        "전체 흐름을 보는 데 도움이 돼요."
    )
    assert words(high, "en")[1].startswith("Your home blood pressure averaged 142/88 mmHg")


def test_time_in_range_in_korean_with_the_time_below() -> None:
    item = one(coach(cgm([120.0] * 85 + [60.0] * 15), now=NOW), "tir_week")
    assert item.tone == "note"
    assert words(item, "ko") == (
        "이번 주 혈당",
        "최근 7일 동안 혈당이 목표 범위(70~180 mg/dL) 안에 있었던 시간은 85%예요. "
        "목표인 70% 이상을 달성하셨어요. 잘하셨어요. "
        "70 mg/dL 미만이었던 시간이 15%로, 목표(4% 미만)보다 많았어요. "
        "당분이 든 간식을 가까이 두시고 다음 통화 때 말씀해 주세요.",
    )
    assert words(item, "en")[1] == (
        "Your glucose was in your range (70-180 mg/dL) 85% of the time over the last 7 days. "
        "Your goal is 70% or more: you reached it. Well done. "
        "It was under 70 mg/dL 15% of the time, more than the 4% we aim for: "
        "keep a sugary snack close and mention it at your next call."
    )
    # The care plan's range, not the default, in the words too.
    plan = Targets.from_care_plan({"glucose": {"low": 80, "high": 160}}, ["t1d"])
    short = one(coach(cgm([120.0] * 50 + [170.0] * 50), now=NOW, targets=plan), "tir_week")
    assert words(short, "ko")[1] == (
        "최근 7일 동안 혈당이 목표 범위(80~160 mg/dL) 안에 있었던 시간은 50%예요. "
        "목표는 70% 이상이에요. 작은 변화도 도움이 돼요. 진료팀이 도와드릴게요."
    )


@pytest.mark.parametrize(
    ("this_week", "ko", "en"),
    [
        (
            82.45,
            "최근 7일 동안 체중은 평균 82.5 kg으로, 지난주보다 1.5 kg 늘었어요.",
            "Your weight averaged 82.5 kg over the last 7 days, 1.5 kg more than the week before.",
        ),
        (
            79.6,
            "최근 7일 동안 체중은 평균 79.6 kg으로, 지난주보다 1.4 kg 줄었어요.",
            "Your weight averaged 79.6 kg over the last 7 days, 1.4 kg less than the week before.",
        ),
        (
            81.3,
            "최근 7일 동안 체중은 평균 81.3 kg으로, 지난주와 비교해 1 kg 이내로 안정적이에요. "
            "좋아요.",
            "Your weight averaged 81.3 kg over the last 7 days: steady, within 1 kg of the week "
            "before. Good.",
        ),
    ],
)
def test_weight_trend_in_both_languages(this_week: float, ko: str, en: str) -> None:
    hf = frozenset({"heart_failure"})
    item = one(coach(weights(81.0, this_week), now=NOW, conditions=hf), "weight_week")
    assert words(item, "ko")[0] == "이번 주 체중"
    assert words(item, "ko")[1].startswith(ko)
    assert words(item, "en")[1].startswith(en)


def test_streak_in_both_languages() -> None:
    item = one(
        coach([Point(NOW - timedelta(days=d), "spo2", 95) for d in range(6)], now=NOW), "streak"
    )
    assert words(item, "ko") == (
        "6일 연속 측정",
        "6일 연속으로 측정하셨어요. 계속 이어 가 주세요. 진료팀에 큰 도움이 돼요.",
    )
    assert words(item, "en")[0] == "6 days in a row"


def test_a_reminder_names_the_day_as_each_language_writes_it_in_the_clinics_zone() -> None:
    # 25 November 20:00 UTC is Thursday 26 November 05:00 in Seoul.
    item = one(coach([Point(NOW - timedelta(days=3), "body_weight", 80.0)], now=NOW), "reminder")
    assert words(item, "ko") == (
        "잠깐 알려 드려요",
        "11월 26일(목) 이후로 체중 기록이 없어요. 오늘 잠시 시간 나실 때 체중을 재 주세요.",
    )
    assert words(item, "en")[1] == (
        "We have not had your weight since Thursday 26 November. "
        "When you have a moment today, please weigh yourself."
    )
    # The stored English is dated in UTC, as before.
    assert item.body.startswith("We have not had your weight since Wednesday 25 November.")
    old = one(coach(bp(120, 80, days=1), now=NOW + timedelta(days=2)), "reminder")
    assert words(old, "ko")[1].startswith("11월 29일(일) 이후로 혈압 기록이 없어요.")


@pytest.mark.parametrize("lang", LANGS)
def test_every_measurement_has_words_in_every_language(lang: Lang) -> None:
    measured = set(Metric) - NOT_VITALS  # a pump's insulin and carbs, steps: no reminder
    assert {MEASURES[m.value] for m in measured} == set(MEASURE_NAMES) == set(MEASURE_DOING)
    assert not {m.value for m in NOT_VITALS} & set(MEASURES)
    for table in (MEASURE_NAMES, MEASURE_DOING):
        assert all(w[lang].strip() for w in table.values())


def test_the_stored_english_is_the_words_english() -> None:
    pts = [*bp(140, 90), *cgm([120.0] * 30), Point(NOW - timedelta(days=3), "spo2", 95)]
    items = coach(pts, now=NOW)
    assert {i.kind for i in items} == {"bp_week", "tir_week", "streak", "reminder"}
    for item in items:
        assert card_words(item.kind, item.data, item.tone, "en") == (item.title, item.body)
        assert set(KINDS[item.kind][0]) <= set(item.data)


def test_a_card_stored_before_its_data_carried_its_words_is_not_worded() -> None:
    # A time-in-range card as stored before the range was in its data.
    assert card_words("tir_week", {"in_range": 0.8, "below": 0.0, "goal": 70}, "good", "ko") is None
    assert card_words("reminder", {"last": NOW.isoformat()}, "neutral", "ko") is None
    assert card_words("no_such_kind", {}, "neutral", "en") is None
