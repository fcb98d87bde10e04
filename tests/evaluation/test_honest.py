"""The honest scorer: no after-window, the line searched from an hour before the start, false
alerts per family and as a nurse counts them, every critical alert not at a critical event, and
truth from true glucose samples."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.evaluation.test_eval import T0, cgm_fixture, glucose, iso, message
from vigil.evaluation import EvalConfig, evaluate
from vigil.evaluation.data import EvalData

DIP = [100, 90, 80, 70, 62, 56, 50, 47, 46, 48, 52, 58, 65, 72, 80, 90]


def shifted(messages: list[Any], values: list[float], at: timedelta) -> list[Any]:
    """The CGM of ``messages`` with ``values`` from ``at`` after 03:00."""
    start = T0.replace(hour=3) + at
    out = []
    for m in messages:
        t = EvalData.from_records(None, [m], []).batches[0].readings[0].time
        k = (t - start) // timedelta(minutes=5)
        if 0 <= k < len(values):
            m = message("g1", "cgm", t, [glucose(t, values[k])], delay_s=10)
        out.append(m)
    return out


def test_a_missed_dip_is_not_detected_by_the_next_lows_alert() -> None:
    """The truth's first low showed nothing on the CGM (it read 110 throughout); a second dip
    two hours later is alerted. The old 12 h after-window counted the first as detected."""
    patients, messages, truth = cgm_fixture([110.0] * 16)
    messages = shifted(messages, DIP, timedelta(hours=2))
    second = [
        {**e, "start": iso(T0.replace(hour=5)), "end": iso(T0.replace(hour=6, minute=20))}
        for e in truth
    ]
    data = EvalData.from_records(patients, messages, truth + second)
    honest = evaluate(data)["events"]["hypoglycemia"]
    assert (honest["n"], honest["recall"]) == (2, 0.5)
    flattering = evaluate(data, EvalConfig(after=timedelta(hours=12)))["events"]["hypoglycemia"]
    assert flattering["recall"] == 1.0


def test_the_line_is_searched_from_an_hour_before_the_start() -> None:
    """The CGM read below 54 twenty minutes before the truth's urgent low began: the lead from
    the line counts from that reading, not from a later one inside the event."""
    patients, messages, truth = cgm_fixture(DIP)
    urgent = truth[1]
    first_below = T0.replace(hour=3, minute=30)  # DIP[6] = 50
    urgent["start"] = iso(first_below + timedelta(minutes=20))
    report = evaluate(EvalData.from_records(patients, messages, truth))
    row = report["events"]["hypoglycemia_urgent"]
    assert row["recall"] == 1.0
    # The urgent finding came on the next reading, which confirmed it: 300 s.
    assert row["median_delay_from_line_s"] == 300.0
    # The episode's first alert (a predicted low) came before that reading, and before the
    # truth crossed the line by more again.
    assert row["median_lead_from_line_s"] is not None
    assert row["median_lead_from_line_s"] > 0
    assert row["median_lead_s"] is not None
    assert row["median_lead_s"] >= row["median_lead_from_line_s"] + 20 * 60 - 10


def test_false_alerts_are_counted_per_family_and_as_a_nurse_counts_them() -> None:
    """No truth at all: one low-glucose episode whose findings stop for 50 minutes (one alert by
    Vigil's 75-minute episode end, two by a nurse's 30-minute gap) and one high glucose."""
    # Below 70 at 03:10-03:20, then at 04:15-04:25.
    low = [90, 78, 68, 66, 67, 80, 95, 110, 110, 110, 110, 110, 110, 95, 80, 66, 60, 62, 80, 95]
    patients, messages, _ = cgm_fixture(low)
    messages = shifted(messages, [300, 310], timedelta(hours=12))
    report = evaluate(EvalData.from_records(patients, messages, []))
    families = report["overall"]["false_by_family"]
    assert (
        families["low_glucose"]["false_notifications"],
        families["low_glucose"]["nurse_false_alerts"],
    ) == (1, 2)
    assert (
        families["high_glucose"]["false_notifications"],
        families["high_glucose"]["nurse_false_alerts"],
    ) == (1, 1)
    assert families["other"]["false_notifications"] == 0
    # One patient, one day of readings less five minutes.
    assert families["low_glucose"]["false_per_patient_day"] == round(1 / (1435 / 1440), 3)


def test_a_false_critical_alert_is_over_escalated_too() -> None:
    """The old count took only true alerts: a critical page with no event at all is one too."""
    patients, messages, _ = cgm_fixture(DIP)
    overall = evaluate(EvalData.from_records(patients, messages, []))["overall"]
    assert (overall["false_alerts"], overall["critical_alerts"], overall["over_escalated"]) == (
        1,
        1,
        1,
    )
    assert overall["false_by_family"]["low_glucose"]["critical_not_at_critical_event"] == 1


def test_events_are_derived_from_true_glucose_samples() -> None:
    """A truth of true glucose samples only: the level-1 and level-2 lows are the consensus
    episodes of the samples, and an over-escalated critical alert reports the true glucose at
    its first critical finding."""
    patients, messages, _ = cgm_fixture(DIP)
    start = T0.replace(hour=3)
    true_bg = [100, 85, 75, 66, 60, 57, 56, 56, 57, 60, 66, 72, 80, 90, 95, 100, 105, 110]
    samples: list[dict[str, Any]] = [
        {"patient": "g1", "time": iso(start + timedelta(minutes=5 * i)), "true_glucose_mg_dl": v}
        for i, v in enumerate(true_bg)
    ]
    data = EvalData.from_records(patients, messages, samples)
    kinds = sorted((e.kind, e.start.strftime("%H:%M"), e.end.strftime("%H:%M")) for e in data.truth)
    assert kinds == [("hypoglycemia", "03:15", "03:55")]  # never below 54
    report = evaluate(data)
    assert report["events"]["hypoglycemia"]["recall"] == 1.0
    low = report["overall"]["false_by_family"]["low_glucose"]
    assert low["critical_not_at_critical_event"] == 1
    assert low["true_glucose_at_over_escalation"]["min"] >= 56


def test_glucose_patient_days_count_each_patients_own_wear() -> None:
    """A patient whose readings span 2 days of a 2-day file and one whose CGM was worn for one
    day of it: 3 patient-days, not 2 patients x 2 days (which flattered a rate by a third)."""
    low = [90, 78, 68, 66, 67, 80, 95]
    patients, messages, _ = cgm_fixture(low)
    patients.append({"patient": "g2", "conditions": ["t2d"], "devices": []})
    for t in (T0, T0 + timedelta(days=2)):
        messages.append(message("g2", "meter", t, [glucose(t, 110)]))
    messages.sort(key=lambda m: m["publish_at"])
    family = evaluate(EvalData.from_records(patients, messages, []))["overall"]["false_by_family"]
    low_glucose = family["low_glucose"]
    assert low_glucose["patient_days"] == round(2 + 1435 / 1440, 1)
    assert low_glucose["false_per_patient_day"] == round(1 / (2 + 1435 / 1440), 3)


def test_a_level_2_low_the_cgm_read_as_55_is_alerted_but_not_paged() -> None:
    """The truth's urgent low, but the CGM (a lagging, smoothing sensor) bottomed out at 55: no
    critical page, so the critical kind's recall is 0; the episode's low alert still told the
    nurse, which ``recall_any_severity`` and its lead count."""
    shallow = [100, 90, 80, 72, 66, 61, 58, 56, 55, 56, 58, 62, 68, 75, 85, 95]
    patients, messages, truth = cgm_fixture(shallow)
    truth[1]["start"] = iso(T0.replace(hour=3, minute=25))  # true glucose < 54 from here
    row = evaluate(EvalData.from_records(patients, messages, truth))["events"][
        "hypoglycemia_urgent"
    ]
    assert (row["n"], row["recall"], row["recall_any_severity"]) == (1, 0.0, 1.0)
    # The episode's first alert (urgent low soon on the 72 at 03:15, seen 10 s later) came
    # 9 min 50 s before the truth crossed 54: under the 15 minutes the bar asks.
    assert row["median_lead_any_severity_s"] == 590.0
    assert row["lead_15min_share_any_severity"] == 0.0
    assert row["median_lead_s"] is None  # no critical page: nothing to count it from
