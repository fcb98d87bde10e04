"""The reports' charts drawn on the server as SVG (so the PDF needs no script): the AGP's 24-hour
percentile profile and each day's small multiple, with the target range from the vocabulary;
the heart-failure diary's daily weights over the usual weight's band.

>>> svg = profile_svg([ProfileRow(minute=m, p5=60, p25=90, p50=120, p75=150, p95=200)
...                    for m in range(0, 1440, 15)])
>>> svg.startswith("<svg") and svg.count("<path") == 3
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from vigil.clinical.glycaemia import LEVEL_1_LOW, LEVEL_2_HIGH, LEVEL_2_LOW, RANGE_HIGH
from vigil.core.metrics import CGM_HIGH_MGDL
from vigil.reports.models import DayProfile, HfWeight, ProfileRow

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
USUAL = 'fill="none" stroke="#2e7d32" stroke-width="1" stroke-dasharray="4 2"'
WEIGHT = 'fill="#0d47a1"'
FIRED = 'stroke="#c62828" stroke-width="2.2"'
FIRED_DOT = 'fill="#c62828"'
ALERT_DAY = 'fill="#fde0dc"'
DAY_LABELS = 10
"""At most this many days are labelled under the weight chart."""


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


def _path(points: Sequence[tuple[float, float]]) -> str:
    """An SVG path through points already in the chart's coordinates."""
    return "M" + " L".join(f"{x},{y}" for x, y in points) if points else ""


def _line(points: Sequence[tuple[float, float]], w: float, h: float) -> str:
    return _path([(_x(m, w), _y(v, h)) for m, v in points])


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


def _kg_scale(hf: HfWeight) -> tuple[float, float, float]:
    """(lowest, highest, tick step) kg of the weight chart: every weighing, usual weight and
    limit, and each gain's starting weight, inside, in whole kilograms."""
    values = [d.kg for d in hf.days]
    values += [v for u in hf.usual for v in (u.usual_kg, u.limit_kg) if v is not None]
    values += [h.baseline_kg for d in hf.days for h in d.rules if h.baseline_kg is not None]
    if not values:
        return 0.0, 1.0, 1.0
    lo, hi = math.floor(min(values) - 0.5), math.ceil(max(values) + 0.5)
    step = next(s for s in (1, 2, 5, 10, 20, 50) if (hi - lo) / s <= 8)
    return float(lo), float(hi), float(step)


def weight_svg(hf: HfWeight, label: str = "", width: float = 640, height: float = 200) -> str:
    """Each day's first weighing over the usual weight's band (from the usual weight to the
    personal-baseline rule's limit, drawn for every day the detector had learnt it), the days
    a rule fired (red; a gain drawn from the lowest weight it counted from), and the days with
    an alert (shaded)."""
    days = [u.day for u in hf.usual]
    n = max(len(days), 1)
    col = width / n
    at = {day: i for i, day in enumerate(days)}
    lo, hi, step = _kg_scale(hf)

    def x(i: float) -> float:
        return round(col * i, 1)

    def y(kg: float) -> float:
        return round(height * (hi - kg) / (hi - lo), 1)

    out = [
        f'<rect class="alert-day" {ALERT_DAY} x="{x(at[d])}" y="0" width="{round(col, 1)}" '
        f'height="{height}"/>'
        for d in hf.alert_days
        if d in at
    ]
    kg = lo
    while kg <= hi:
        out.append(f'<line class="kg" {HOUR} x1="0" x2="{width}" y1="{y(kg)}" y2="{y(kg)}"/>')
        out.append(f'<text class="tick" {TICK} x="{width + 4}" y="{y(kg) + 3}">{kg:.0f}</text>')
        kg += step
    every = math.ceil(n / DAY_LABELS)
    for i, day in enumerate(days):
        if i % every == 0:
            out.append(f'<text class="tick" {TICK} x="{x(i)}" y="{height + 12}">'
                       f"{day.strftime('%m-%d')}</text>")  # fmt: skip
    runs: list[list[tuple[int, float, float]]] = []
    for i, u in enumerate(hf.usual):
        if u.usual_kg is None or u.limit_kg is None:
            continue
        if not runs or runs[-1][-1][0] != i - 1:
            runs.append([])
        runs[-1].append((i, u.usual_kg, u.limit_kg))
    for run in runs:  # each day's usual weight holds for the whole day: a step
        usual = [(x(i + e), y(v)) for i, v, _ in run for e in (0, 1)]
        limit = [(x(i + e), y(v)) for i, _, v in run for e in (0, 1)]
        out.append(f'<path class="usual-band" {RANGE} d="{_path(limit + usual[::-1])} Z"/>')
        out.append(f'<path class="usual" {USUAL} d="{_path(usual)}"/>')
        out.append(f'<path class="limit" fill="none" {LEVEL} d="{_path(limit)}"/>')
    points = [(x(at[d.day] + 0.5), y(d.kg)) for d in hf.days if d.day in at]
    out.append(f'<path class="weight" {MEDIAN.format(w=1.4)} d="{_path(points)}"/>')
    out += [f'<circle class="weighing" {WEIGHT} cx="{px}" cy="{py}" r="2.2"/>' for px, py in points]
    for d in hf.days:
        if d.day not in at:
            continue
        cx = x(at[d.day] + 0.5)
        for hit in d.rules:
            if hit.rule == "hf_weight_gain" and hit.baseline_kg is not None:
                out.append(f'<line class="gain" {FIRED} x1="{cx}" x2="{cx}" '
                           f'y1="{y(hit.baseline_kg)}" y2="{y(hit.kg)}"/>')  # fmt: skip
            out.append(f'<circle class="fired" {FIRED_DOT} cx="{cx}" cy="{y(hit.kg)}" r="3.6"/>')
    return (
        f'<svg class="hf-weight" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 -6 {width + 30} {height + 24}" role="img" aria-label="{escape(label)}">'
        f"{''.join(out)}</svg>"
    )
