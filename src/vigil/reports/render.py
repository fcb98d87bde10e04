"""A report as HTML (one ``<article>``, the page's and the PDF's) and as a PDF (WeasyPrint, from
that HTML with the reports' stylesheet; fonts from the system: Nanum for Korean)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from vigil.clinical.display import format_value, number
from vigil.clinical.home_bp import HOME_BP_MIN_DAYS
from vigil.clinical.wording import explain
from vigil.core.languages import Lang
from vigil.core.metrics import Metric
from vigil.reports.models import Agp, BpAverage, HfDay, HfRuleHit, HfWeight, HomeBp
from vigil.reports.svg import day_svg, profile_svg, weight_svg
from vigil.reports.words import WORDS

HERE = Path(__file__).parent
LOWS_LISTED = 10
"""The latest lows the page lists (the AGP stays one A4 page); the rest are counted."""
DIARY_DAYS = 96
"""The latest days the weight diary lists (it stays one A4 page); the rest are in the CSV."""
DIARY_COLUMNS = ((32, 2), (DIARY_DAYS, 3))
"""The diary's table in side-by-side columns: 2 up to a month, else 3 (of at most 32 days)."""
STYLESHEET = HERE / "report.css"
"""The reports' one stylesheet: the dashboard serves it beside the page, the PDF embeds it."""


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
    )


def pct(share: float) -> str:
    """A share as the report prints it: ``0.7234`` -> ``72%``; under 1 % with one decimal.

    >>> pct(0.7234), pct(0.0042), pct(0.0)
    ('72%', '0.4%', '0%')
    """
    percent = 100 * share
    return f"{percent:.1f}%" if 0 < percent < 1 else f"{percent:.0f}%"


def num(value: float | None, decimals: int, unit: str) -> str:
    return "–" if value is None else f"{value:.{decimals}f}{unit}"


def render_agp(agp: Agp, *, lang: Lang, patient: str) -> str:
    zone = ZoneInfo(agp.time_zone)
    words = WORDS[lang]
    lows = [
        words["low_row"].format(
            start=_when(lo.start, zone), below=f"{lo.below:.0f}", nadir=f"{lo.nadir:.0f}",
            minutes=round((lo.end - lo.start).total_seconds() / 60),
        )
        for lo in agp.lows[-LOWS_LISTED:]
    ]  # fmt: skip
    if len(agp.lows) > LOWS_LISTED:
        lows.insert(0, words["more_lows"].format(n=len(agp.lows) - LOWS_LISTED))
    return (
        _env()
        .get_template("agp.html")
        .render(
            **_heading(agp.start, agp.end, agp.time_zone, lang, patient),
            agp=agp,
            pct=pct,
            num=num,
            profile_svg=profile_svg(agp.profile, words["profile"]),
            days_svg=[
                {"label": d.day.strftime("%m-%d"), "svg": day_svg(d, f"{words['daily']} {d.day}")}
                for d in agp.daily
            ],
            lows=lows,
        )
    )


def mmhg(average: BpAverage) -> str:
    """An average as clinicians write it, one value: ``138/86``; ``–`` without readings."""
    if average.systolic is None or average.diastolic is None:
        return "–"
    return f"{average.systolic:.0f}/{average.diastolic:.0f}"


def render_home_bp(bp: HomeBp, *, lang: Lang, patient: str) -> str:
    return (
        _env()
        .get_template("home_bp.html")
        .render(
            **_heading(bp.start, bp.end, bp.time_zone, lang, patient),
            bp=bp,
            min_days=HOME_BP_MIN_DAYS,
            mmhg=mmhg,
        )
    )


def kg(value: float | None) -> str:
    """A weight as clinicians write it: ``72.4 kg``; ``–`` without one."""
    return "–" if value is None else format_value(Metric.BODY_WEIGHT, value)


def kg_change(value: float) -> str:
    """A change of weight, signed: ``+2.1 kg``, ``-0.4 kg``, ``0.0 kg``.

    >>> kg_change(2.08), kg_change(-0.44), kg_change(-0.01)
    ('+2.1 kg', '-0.4 kg', '0.0 kg')
    """
    shown = number(Metric.BODY_WEIGHT, abs(value))
    sign = "" if float(shown) == 0 else "+" if value > 0 else "-"
    return f"{sign}{kg(abs(value))}"


def _hit_words(hit: HfRuleHit, lang: Lang) -> tuple[str, str]:
    """(the short mark, ``+2.1 kg in 3 days``; the detector's own sentence) of a rule that
    fired, in ``lang`` (the alerts' wording, :mod:`vigil.clinical.wording`)."""
    w = WORDS[lang]
    explanation = {
        "code": "hf_decompensation", "value": hit.kg, "threshold": hit.threshold,
        "baseline": hit.baseline_kg,
        "window_s": None if hit.window_days is None else hit.window_days * 86_400,
        "details": {"previous_kg": hit.previous_kg},
    }  # fmt: skip
    sentence = explain(explanation, cause="hf_decompensation", detector=hit.rule, lang=lang)
    change = kg_change(hit.kg - (hit.baseline_kg or hit.kg))
    if hit.rule == "hf_weight_gain":
        return w["hf_gain_short"].format(gain=change, days=f"{hit.window_days or 0:g}"), sentence
    return w["hf_above_short"].format(excess=change), sentence


def render_hf_weight(hf: HfWeight, *, lang: Lang, patient: str) -> str:
    w = WORDS[lang]
    weighed = {d.day: d for d in hf.days}
    rows: list[dict[str, object]] = []
    for u in hf.usual[-DIARY_DAYS:]:
        d: HfDay | None = weighed.get(u.day)
        notes = [_hit_words(h, lang)[0] for h in d.rules] if d else []
        if u.day in hf.alert_days:
            notes.append(w["hf_alert"])
        versus = kg_change(d.kg - u.usual_kg) if d and u.usual_kg is not None else "–"
        rows.append({"day": u.day.strftime("%m-%d"), "kg": kg(d.kg if d else None),
                     "versus": versus, "note": ", ".join(notes), "fired": bool(notes)})  # fmt: skip
    fired = [
        f"{d.day.isoformat()} {_when(h.time, ZoneInfo(hf.time_zone))[11:]}: "
        f"{_hit_words(h, lang)[1]}"
        for d in hf.days
        for h in d.rules
    ][-LOWS_LISTED:]
    first, last = (hf.days[0], hf.days[-1]) if hf.days else (None, None)
    now = hf.usual[-1] if hf.usual else None
    return (
        _env()
        .get_template("hf_weight.html")
        .render(
            **_heading(hf.start, hf.end, hf.time_zone, lang, patient),
            hf=hf,
            rules=w["hf_rules"].format(  # the rules as written: 2 kg in 3 days, 1.5 kg
                gain=f"{hf.gain_kg:g} kg",
                days=f"{hf.gain_days:g}",
                excess=f"{hf.baseline_excess_kg:g} kg",
            ),
            latest=last,
            latest_kg=kg(last.kg if last else None),
            change=kg_change(last.kg - first.kg) if first and last else "–",
            usual=kg(now.usual_kg) if now and now.usual_kg is not None else w["hf_learning"],
            limit=kg(now.limit_kg if now else None),
            weighed=f"{len(hf.days)} / {len(hf.usual)}",
            fired=fired,
            chart=weight_svg(hf, w["hf_chart"]),
            band=w["hf_legend_band"].format(excess=kg(hf.baseline_excess_kg)),
            columns=_columns(rows),
            more=max(len(hf.usual) - DIARY_DAYS, 0),
        )
    )


def _columns(rows: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """The diary's rows cut into side-by-side columns of equal length.

    >>> [len(c) for c in _columns([{}] * 31)], [len(c) for c in _columns([{}] * 91)]
    ([16, 15], [31, 31, 29])
    """
    columns = next(n for most, n in DIARY_COLUMNS if len(rows) <= most)
    size = max(math.ceil(len(rows) / columns), 1)
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _heading(
    start: datetime, end: datetime, time_zone: str, lang: Lang, patient: str
) -> dict[str, object]:
    """What every report's heading shows: the patient, the period's first and last days and
    its length in the clinic's zone, the zone, the language's words."""
    zone = ZoneInfo(time_zone)
    last = end - timedelta(microseconds=1) if end > start else end
    return {
        "lang": lang,
        "w": WORDS[lang],
        "patient": patient,
        "zone": time_zone,
        "start": start.astimezone(zone).date().isoformat(),
        "end": last.astimezone(zone).date().isoformat(),
        "days": f"{max((end - start).total_seconds(), 0) / 86400:g}",
    }


def _when(t: datetime, zone: ZoneInfo) -> str:
    return t.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def to_pdf(article: str, *, lang: Lang, title: str) -> bytes:
    """The report's HTML as an A4 PDF (WeasyPrint, imported here: loading pango costs time a
    process that never prints should not pay)."""
    from weasyprint import CSS, HTML

    doc = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<title>{_escape(title)}</title></head><body class="print">{article}</body></html>'
    )
    return bytes(HTML(string=doc).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))]))


def _escape(text: str) -> str:
    from html import escape

    return escape(text)
