"use strict";
// A line chart (inline SVG) as wide as its box: per series a min-max band and the average per
// bucket, threshold and target lines, alert markers. Axis ticks are round numbers at a step
// chosen so no two read the same; guide labels are pushed apart so none overlap. Points keep
// their data in attributes, so tests and people can read them. Values in the unit shown.

function niceStep(span, count) {
  const raw = span / Math.max(count, 1), mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
}

// Labels at y, at least gap apart, in order, kept within [top, bottom].
function spread(ys, gap, top, bottom) {
  const order = ys.map((y, i) => [y, i]).sort((a, b) => a[0] - b[0]);
  const out = new Array(ys.length);
  let prev = -Infinity;
  for (const [y, i] of order) { prev = Math.max(y, prev + gap, top); out[i] = prev; }
  const over = prev - bottom;
  if (over > 0) for (let i = 0; i < out.length; i++) out[i] -= over;
  return out;
}

// The plot's left and right margins: the treatment strip below a chart keeps its time axis.
const PLOT = { L: 48, R: 170 };

// The time axis every chart of a range shares: the drawing's width, the range's ends and
// where an instant (a time or a Date) falls between the margins.
function timeAxis(range, width) {
  const W = Math.max(320, Math.round(width || 640)), t0 = range.start.getTime(), t1 = range.end.getTime();
  const x = (t) => PLOT.L + ((new Date(t).getTime() - t0) / (t1 - t0)) * (W - PLOT.L - PLOT.R);
  return { W, t0, t1, x };
}

function chartSvg(series, lines, markers, range, width) {
  const { W, t0, t1, x } = timeAxis(range, width), H = 200, { L, R } = PLOT, T = 10, B = 24;
  const all = series.flatMap((s) => s.buckets.map((p) => ({ ...p, metric: s.metric })));
  if (!all.length) return `<p class="muted">${text(vigil.t("patient.no_readings"))}</p>`;
  const d = (metric, v) => vigil.toDisplay(metric, v);
  const values = all.flatMap((p) => [d(p.metric, p.min), d(p.metric, p.max)])
    .concat(lines.map((l) => d(l.metric, l.value)));
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const step = niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const parts = series.map((s) => {
    const b = s.buckets, m = s.metric;
    if (!b.length) return "";
    const band = b.map((p) => `${x(p.bucket)},${y(d(m, p.max))}`).join(" ") + " " +
      b.slice().reverse().map((p) => `${x(p.bucket)},${y(d(m, p.min))}`).join(" ");
    const avg = b.map((p) => `${x(p.bucket)},${y(d(m, p.avg))}`).join(" ");
    const dots = b.map((p) => `<circle class="pt" cx="${x(p.bucket)}" cy="${y(d(m, p.avg))}"
      r="2.5" data-metric="${m}" data-time="${p.bucket}" data-min="${p.min}" data-max="${p.max}"
      data-avg="${p.avg}"><title>${text(`${vigil.metricName(m)} ${vigil.dateTime(p.bucket)}: ${
        p.min === p.max ? vigil.formatValue(m, p.avg, s.unit)
          : `${vigil.formatValue(m, p.min, s.unit, { unit: false })}–${vigil.formatValue(m, p.max, s.unit)}`}`)}</title></circle>`).join("");
    // A CGM's LOW / HIGH marks are stored at the bound: say so where they fall, as the
    // device showed them, so a band resting on 40 mg/dL is read as "at most 40".
    const censored = b.flatMap((p) => [["below", "LOW", p.low, Math.min(y(d(m, p.min)) + 13, H - B - 2)],
      ["above", "HIGH", p.high, Math.max(y(d(m, p.max)) - 5, T + 9)]]
      .filter(([, , n]) => n > 0).map(([side, mark, n, ly]) => `<text x="${x(p.bucket)}" y="${ly}"
      text-anchor="middle" class="lbl censored" data-censored="${side}" data-count="${n}"
      data-time="${p.bucket}">${mark}<title>${text(vigil.t(`patient.censored_${side}`, { n }))}</title></text>`)).join("");
    return `<polygon points="${band}" class="band"/><polyline points="${avg}" class="avg"/>${dots}${censored}`;
  }).join("");
  const gy = lines.map((l) => y(d(l.metric, l.value)));
  const ly = spread(gy.map((v) => v + 4), 12, T + 8, H - B);
  const guide = lines.map((l, i) => `<line x1="${L}" x2="${W - R}" y1="${gy[i]}" y2="${gy[i]}"
    class="${l.kind}"/><text x="${W - R + 4}" y="${ly[i]}" class="lbl guide">${text(l.label)}</text>`).join("");
  const marks = markers.filter((m) => new Date(m.time).getTime() >= t0).map((m) => `<line
    x1="${x(m.time)}" x2="${x(m.time)}" y1="${T}" y2="${H - B}" class="alert-mark ${m.severity}">
    <title>${text(m.title)}</title></line>`).join("");
  // A step of 1, 2 or 5 times a power of ten: as many decimals as the step has, so a label
  // is never rounded into its neighbour's (92.5 shown as 93).
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const yt = [];
  for (let v = lo; v <= hi + step / 2; v += step) yt.push(v);
  const fmt = new Intl.NumberFormat(vigil.messages.lang, { minimumFractionDigits: digits,
    maximumFractionDigits: digits, useGrouping: false });
  const yticks = yt.map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}"
    class="grid"/><text x="${L - 4}" y="${y(v) + 4}" text-anchor="end" class="lbl ytick">${fmt.format(v)}</text>`).join("");
  // Time ticks in the middle of equal spans (none at the edges, where a label would overhang
  // its neighbour), about one per 110 px (170 px with times); a label equal to the one before
  // (the same day) is left out.
  // On a phone's narrow plot, the month and day alone, one label per 70 px (two full dates
  // overlapped there).
  const plot = W - L - R, narrow = plot < 260, short = t1 - t0 <= 2.5 * 86400e3;
  const n = Math.max(1, Math.floor(plot / (narrow ? 70 : short ? 170 : 110)));
  const seen = new Set();
  const xticks = Array.from({ length: n }, (_, i) => t0 + ((t1 - t0) * (i + 0.5)) / n).map((t) => {
    const day = narrow ? vigil.monthDay(new Date(t)) : vigil.date(new Date(t));
    const label = short && !narrow ? `${day} ${vigil.time(new Date(t))}` : day;
    if (seen.has(label)) return "";
    seen.add(label);
    return `<text x="${x(t)}" y="${H - 6}" text-anchor="middle" class="lbl xtick">${text(label)}</text>`;
  }).join("");
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" class="chart" role="img"
    aria-label="${text(series.map((s) => vigil.metricName(s.metric)).join(", "))}">
    ${yticks}${guide}${marks}${parts}${xticks}</svg>`;
}

// A pump's boluses and entered carbohydrate on a strip under a chart, on the chart's time
// axis: a row each, a marker with its value beside it ("4.5 U", "60 g"), or per day its total
// when `daily` (single markers would crowd: about 150 px a day at 7 days). Each marker is an
// image with its own label, so a screen reader hears every dose; labels in a row are pushed
// apart so none overlap. items: [{ metric, time, value, unit }] in stored units.
function treatmentSvg(items, range, width, daily) {
  const { W, t0, t1, x } = timeAxis(range, width), { L, R } = PLOT, ROW = 22, H = 2 * ROW + 4;
  const rows = ["insulin", "carbs"].map((metric, row) => {
    const mine = items.filter((i) => i.metric === metric);
    if (!mine.length) return "";
    const unit = mine[0].unit;
    const total = (d) => vigil.t(`patient.${metric}_day`, { date: vigil.date(new Date(d.day)),
      v: vigil.formatValue(metric, d.value, unit), count: vigil.plural(`patient.${metric}_count`, d.count) });
    // The range's first and last days are cut (the range ends now): their totals say so.
    const marks = daily ? dailyTotals(mine, t0, t1).map((d) => ({ ...d, label: d.partial
      ? vigil.t("patient.day_partial", { label: total(d) }) : total(d) }))
      : mine.map((i) => ({ time: new Date(i.time).getTime(), value: i.value, label: vigil.t(
        `patient.${metric}_one`, { time: vigil.dateTime(i.time), v: vigil.formatValue(metric, i.value, unit) }) }));
    marks.sort((a, b) => a.time - b.time);
    const cy = 4 + row * ROW + ROW / 2, xs = marks.map((m) => x(m.time));
    const lx = spread(xs.map((v) => v + 6), daily ? 34 : 40, L, W - R + 40);
    const shape = metric === "insulin"
      ? (cx) => `<path d="M${cx - 5},${cy - 5}h10l-5,9z" class="mark"/>`
      : (cx) => `<circle cx="${cx}" cy="${cy}" r="4.5" class="mark"/>`;
    const name = text(vigil.t(`patient.${metric}_row${daily ? "_daily" : ""}`));  // "U/day": a total
    return `<text x="${L - 4}" y="${cy + 4}" text-anchor="end" class="lbl">${name}</text>` +
      marks.map((m, i) => `<g class="treat ${metric}" role="img" aria-label="${text(m.label)}"
      data-metric="${metric}" data-time="${new Date(m.time).toISOString()}" data-value="${m.value}"
      ${daily ? `data-count="${m.count}"` : ""}>${shape(xs[i])}<text x="${lx[i]}" y="${cy + 4}"
      class="lbl val" aria-hidden="true">${text(vigil.formatValue(metric, m.value, unit))}</text>
      <title>${text(m.label)}</title></g>`).join("");
  }).join("");
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" class="chart treatments"
    role="group" aria-label="${text(vigil.t(daily ? "patient.treatments_daily" : "patient.treatments"))}">${rows}</svg>`;
}

// The day (midnight in the clinic's zone) an instant falls in, as a time.
function zoneMidnight(t) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { timeZone: vigil.messages.zone,
    hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .formatToParts(new Date(t)).map((p) => [p.type, Number(p.value)]));
  return t - ((parts.hour * 60 + parts.minute) * 60 + parts.second) * 1000 - (t % 1000);
}

// Per clinic-zone day: the total and how many entries, placed at the day's middle (kept inside
// the range for the range's first and last, partly shown, days).
function dailyTotals(items, t0, t1) {
  const days = new Map();
  for (const i of items) {
    const day = zoneMidnight(new Date(i.time).getTime());
    const d = days.get(day) || { day, value: 0, count: 0 };
    d.value += Number(i.value); d.count += 1;
    days.set(day, d);
  }
  return [...days.values()].map((d) => ({ ...d, partial: d.day < t0 || d.day + 86400e3 > t1,
    time: (Math.max(d.day, t0) + Math.min(d.day + 86400e3, t1)) / 2 }));
}
