"""A report as HTML (one ``<article>``, the page's and the PDF's) and as a PDF (WeasyPrint, from
that HTML with the reports' stylesheet; fonts from the system: Nanum for Korean)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from vigil.clinical.home_bp import HOME_BP_MIN_DAYS
from vigil.core.languages import Lang
from vigil.reports.models import Agp, BpAverage, HomeBp
from vigil.reports.svg import day_svg, profile_svg
from vigil.reports.words import WORDS

HERE = Path(__file__).parent
LOWS_LISTED = 10
"""The latest lows the page lists (the AGP stays one A4 page); the rest are counted."""
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
