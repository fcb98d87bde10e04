"""The AGP's charts drawn on the server as SVG (so the PDF needs no script): the 24-hour
percentile profile and each day's small multiple, with the target range from the vocabulary.

>>> svg = profile_svg([ProfileRow(minute=m, p5=60, p25=90, p50=120, p75=150, p95=200)
...                    for m in range(0, 1440, 15)])
>>> svg.startswith("<svg") and svg.count("<path") == 3
True
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from vigil.clinical.glycaemia import LEVEL_1_LOW, LEVEL_2_HIGH, LEVEL_2_LOW, RANGE_HIGH
from vigil.core.metrics import CGM_HIGH_MGDL
from vigil.reports.models import DayProfile, ProfileRow

TOP = 350.0
"""mg/dL at the top of the charts (a HIGH, 400, is drawn at the edge)."""
DAY = 1440
# Presentation attributes, not CSS: the page's policy allows no inline style, WeasyPrint reads
# no outer stylesheet inside an SVG, and both honour these.
RANGE = 'fill="#e8f5e9"'
LEVEL = 'stroke="#9e9e9e" stroke-width="0.6" stroke-dasharray="3 2"'
HOUR = 'stroke="#e0e0e0" stroke-width="0.5"'
TICK = 'font-size="8" fill="#555"'
OUTER = 'fill="#90caf9" fill-opacity="0.55"'
INNER = 'fill="#1e88e5" fill-opacity="0.65"'
MEDIAN = 'fill="none" stroke="#0d47a1" stroke-width="{w}"'


def _y(value: float, height: float) -> float:
    return round(height * (1 - min(value, TOP) / TOP), 1)


def _x(minute: float, width: float) -> float:
    return round(width * minute / DAY, 1)


def _band(rows: Sequence[ProfileRow], lo: str, hi: str, w: float, h: float) -> str:
    pts = [r for r in rows if getattr(r, lo) is not None and getattr(r, hi) is not None]
    if not pts:
        return ""
    upper = [f"{_x(r.minute + 7.5, w)},{_y(getattr(r, hi), h)}" for r in pts]
    lower = [f"{_x(r.minute + 7.5, w)},{_y(getattr(r, lo), h)}" for r in reversed(pts)]
    return "M" + " L".join(upper + lower) + " Z"


def _line(points: Sequence[tuple[float, float]], w: float, h: float) -> str:
    return "M" + " L".join(f"{_x(m, w)},{_y(v, h)}" for m, v in points) if points else ""


def _grid(w: float, h: float, labels: bool) -> str:
    out = [
        f'<rect class="range" {RANGE} x="0" y="{_y(RANGE_HIGH, h)}" width="{w}" '
        f'height="{round(_y(LEVEL_1_LOW, h) - _y(RANGE_HIGH, h), 1)}"/>'
    ]
    for level in (LEVEL_2_LOW, LEVEL_1_LOW, RANGE_HIGH, LEVEL_2_HIGH):
        out.append(
            f'<line class="level" {LEVEL} x1="0" x2="{w}" y1="{_y(level, h)}" y2="{_y(level, h)}"/>'
        )
        if labels:
            out.append(
                f'<text class="tick" {TICK} x="{w + 4}" y="{_y(level, h) + 3}">{level:.0f}</text>'
            )
    if labels:
        for hour in range(0, 25, 3):
            x = _x(hour * 60, w)
            out.append(f'<line class="hour" {HOUR} x1="{x}" x2="{x}" y1="0" y2="{h}"/>')
            out.append(
                f'<text class="tick" {TICK} x="{max(x - 10, 0)}" y="{h + 12}">{hour:02d}:00</text>'
            )
    return "".join(out)


def profile_svg(
    rows: Sequence[ProfileRow], label: str = "", width: float = 640, height: float = 220
) -> str:
    """The 24-hour profile: 5-95 % and 25-75 % bands and the median over the target range."""
    median = [(r.minute + 7.5, r.p50) for r in rows if r.p50 is not None]
    return (
        f'<svg class="agp-profile" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width + 30} {height + 18}" role="img" aria-label="{escape(label)}">'
        f"{_grid(width, height, labels=True)}"
        f'<path class="p5-95" {OUTER} d="{_band(rows, "p5", "p95", width, height)}"/>'
        f'<path class="p25-75" {INNER} d="{_band(rows, "p25", "p75", width, height)}"/>'
        f'<path class="p50" {MEDIAN.format(w=1.6)} d="{_line(median, width, height)}"/>'
        "</svg>"
    )


def day_svg(day: DayProfile, label: str = "", width: float = 96, height: float = 48) -> str:
    """One day's 15-minute means over the target range (a small multiple)."""
    points = [(m + 7.5, min(v, CGM_HIGH_MGDL)) for m, v in day.points]
    return (
        f'<svg class="agp-day" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"{_grid(width, height, labels=False)}"
        f'<path class="p50" {MEDIAN.format(w=1)} d="{_line(points, width, height)}"/></svg>'
    )
