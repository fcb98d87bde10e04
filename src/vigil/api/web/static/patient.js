"use strict";
const patientId = location.pathname.split("/").pop();
// One chart per measure; blood pressure is one value (systolic/diastolic) and one chart.
const GROUPS = [["bp", ["bp_systolic", "bp_diastolic"]], ["heart_rate", ["heart_rate"]],
  ["spo2", ["spo2"]], ["glucose", ["glucose"]], ["body_weight", ["body_weight"]],
  ["body_temperature", ["body_temperature"]], ["respiratory_rate", ["respiratory_rate"]]];
const METRICS = GROUPS.flatMap(([, ms]) => ms);
// What a pump or pen gave or the patient ate (the server's TREATMENTS, embedded): not a
// vital, so no chart of its own and no care-plan row; drawn under the glucose chart.
const TREATMENTS = vigil.messages.treatments;
const UNIT = { bp_systolic: "mm[Hg]", bp_diastolic: "mm[Hg]", heart_rate: "/min", spo2: "%",
  glucose: "mg/dL", body_weight: "kg", body_temperature: "Cel", respiratory_rate: "/min" };
// The detectors' defaults and the physiological bounds come from the API (one source).
let plan = { thresholds: {}, targets: {} }, defaults = null, patient = null, alerts = [], drawn = null;

function limitsFor(metric, current) {
  const t = { ...defaults.thresholds[metric], ...current.thresholds[metric] };
  const g = { ...defaults.targets[metric], ...current.targets[metric] };
  const v = (x) => vigil.formatValue(metric, x, UNIT[metric]);
  const short = GROUPS.find(([, ms]) => ms.length > 1 && ms.includes(metric)) ? `${vigil.metricName(metric)} ` : "";
  return [[t.low, "threshold", "patient.alert_below"], [t.high, "threshold", "patient.alert_above"],
    [g.low, "target", "patient.target_above"], [g.high, "target", "patient.target_below"]]
    .filter(([value]) => value != null)
    .map(([value, kind, key]) => ({ metric, value, kind, label: short + vigil.t(key, { v: v(value) }) }));
}

function latest(name, rollups) {
  const last = (r) => r.buckets[r.buckets.length - 1];
  if (name === "bp") {
    const [s, d] = rollups;
    return s.buckets.length && d.buckets.length ? vigil.formatBP(last(s).avg, last(d).avg) : "–";
  }
  const r = rollups[0];
  return vigil.formatValue(r.metric, last(r).avg, r.unit);
}

function draw() {
  if (!drawn) return;
  const width = $("charts").clientWidth, current = formPlan() || plan;
  $("charts").innerHTML = drawn.map(({ name, metrics, rollups, markers }) => `
    <div class="metric" data-metric="${name}"><h3>${text(vigil.metricName(name))}
      <span class="muted latest">${text(vigil.t("patient.latest", { value: latest(name, rollups) }))}</span></h3>
      ${chartSvg(rollups.map((r, i) => ({ metric: metrics[i], unit: r.unit, buckets: r.buckets })),
        metrics.flatMap((m) => limitsFor(m, current)), markers, drawn.range, width)}
      ${name === "glucose" && drawn.treatments.length
        ? treatmentSvg(drawn.treatments, drawn.range, width, drawn.range.days > 2) : ""}</div>`).join("")
    || `<p class="muted">${text(vigil.t("patient.no_readings"))}</p>`;
  $("charts").dataset.days = drawn.range.days;
}

// The weight diary's link, for a heart-failure patient or one who weighs: once shown, kept.
function weighed(show) { if (show) $("hf-weight-link").hidden = false; }

let chartsAsked = 0;

async function loadCharts() {
  // Only the latest request draws: a range picked while an earlier one's rollups are still on
  // their way must not be replaced by that older answer arriving after it (as on triage).
  const mine = ++chartsAsked;
  const days = Number($("range").value);
  const end = new Date(), start = new Date(end.getTime() - days * 86400e3);
  const bucket = days <= 2 ? "15m" : days <= 7 ? "1h" : "6h";
  // A pump's boluses and carbs, raw (a few a day), for the glucose chart's strip.
  const asked = (metric) => vigil.call(`/patients/${patientId}/readings?${new URLSearchParams({
    metric, start: start.toISOString(), end: end.toISOString(), limit: "10000" })}`);
  const treatments = Promise.all(TREATMENTS.map(asked)).then((lists) => lists.flat());
  const got = await Promise.all(GROUPS.map(async ([name, metrics]) => {
    const rollups = await Promise.all(metrics.map((metric) => vigil.call(`/patients/${patientId}/readings/rollup?${
      new URLSearchParams({ metric, bucket, start: start.toISOString(), end: end.toISOString() })}`)
      .then((r) => ({ ...r, metric }))));
    if (!rollups.some((r) => r.buckets.length)) return null;
    const markers = alerts.filter((a) => (a.metrics || []).some((m) => metrics.includes(m)))
      .map((a) => ({ time: a.first_seen, severity: a.severity, title: a.explanation.sentence }));
    return { name, metrics, rollups, markers };
  }));
  const given = await treatments;
  if (mine !== chartsAsked) return;
  drawn = got.filter(Boolean);
  weighed(drawn.some((g) => g.name === "body_weight"));
  drawn.treatments = given;
  drawn.range = { start, end, days };
  draw();
}

function input(m, kind, side, value, placeholder) {
  const label = `${vigil.metricName(m)} · ${vigil.t(`patient.col_${kind}_${side}`)}`;
  const shown = (v) => (v == null ? "" : vigil.number(m, v).replace(",", "."));
  return `<td data-label="${text(vigil.t(`patient.col_${kind}_${side}`))}"><input name="${kind}.${m}.${side}" type="number" step="any" inputmode="decimal"
    value="${shown(value)}" placeholder="${shown(placeholder)}" aria-label="${text(label)}"></td>`;
}

function planRows() {
  $("plan-rows").innerHTML = METRICS.map((m) => {
    const t = plan.thresholds[m] || {}, g = plan.targets[m] || {};
    const dt = defaults.thresholds[m] || {}, dg = defaults.targets[m] || {};
    return `<tr><th scope="row">${text(vigil.metricName(m))}</th>
      <td class="muted">${text(vigil.displayUnit(m, UNIT[m]))}</td>
      ${input(m, "threshold", "low", t.low, dt.low)}${input(m, "threshold", "high", t.high, dt.high)}
      ${input(m, "target", "low", g.low, dg.low)}${input(m, "target", "high", g.high, dg.high)}</tr>`;
  }).join("");
}

// The form's plan in stored units, or null (and a message) when a value cannot be right.
function formPlan(report = false) {
  const out = { thresholds: {}, targets: {} }, errors = [];
  for (const el of $("plan").querySelectorAll("input")) {
    el.removeAttribute("aria-invalid");
    if (el.value === "") continue;
    const [kind, metric, side] = el.name.split(".");
    const v = vigil.fromDisplay(metric, Number(el.value));
    const b = defaults.bounds[metric];
    if (!Number.isFinite(v) || v < b.low || v > b.high) {
      el.setAttribute("aria-invalid", "true");
      errors.push(vigil.t("patient.invalid_bounds", { name: vigil.metricName(metric),
        low: vigil.formatValue(metric, b.low, UNIT[metric], { unit: false }),
        high: vigil.formatValue(metric, b.high, UNIT[metric]) }));
    }
    ((kind === "threshold" ? out.thresholds : out.targets)[metric] ||= {})[side] = v;
  }
  for (const kind of ["thresholds", "targets"]) {
    for (const [metric, r] of Object.entries(out[kind])) {
      if (r.low != null && r.high != null && r.low >= r.high) {
        for (const side of ["low", "high"]) {
          $("plan").querySelector(`[name="${kind.slice(0, -1)}.${metric}.${side}"]`).setAttribute("aria-invalid", "true");
        }
        errors.push(vigil.t("patient.invalid_order", { name: vigil.metricName(metric) }));
      }
    }
  }
  if (errors.length && report) $("plan-msg").textContent = errors.join(" ");
  return errors.length ? null : out;
}

async function load() {
  try {
    if (!(await vigil.guard("staff"))) return;
    patient = await vigil.call(`/patients/${patientId}`);
    weighed((patient.conditions || []).includes("heart_failure"));
  } catch (e) {
    $("refused").hidden = false;
    $("refused").textContent = e.status === 403 || e.status === 404
      ? vigil.t("patient.refused") : e.message;
    document.querySelectorAll("section").forEach((s) => { s.hidden = true; });
    return;
  }
  [plan, defaults] = await Promise.all([vigil.call(`/patients/${patientId}/care-plan`),
    vigil.call(`/patients/${patientId}/care-plan/defaults`)]);
  planRows();
  alerts = await vigil.call(`/alerts?patient_id=${patientId}&limit=100`);
  await loadCharts();
}

function listed(items) {
  return items.map((a) => `${vigil.causeName(a.cause)} (${vigil.dateTime(a.time)})`).join(", ");
}

$("range").addEventListener("change", loadCharts);  // the plan's edits stay as typed
$("glucose-unit").value = vigil.glucoseUnit();
$("glucose-unit").addEventListener("change", (e) => {
  const typed = formPlan();
  vigil.setGlucoseUnit(e.target.value);
  if (typed) { plan = { ...plan, ...typed }; }
  planRows();
  draw();
});
$("plan").addEventListener("input", () => draw());
let resized;
addEventListener("resize", () => { clearTimeout(resized); resized = setTimeout(draw, 150); });
$("preview").addEventListener("click", async () => {
  const proposed = formPlan(true);
  if (!proposed) return;
  const r = await vigil.call(`/patients/${patientId}/care-plan/preview`,
    { method: "POST", body: JSON.stringify({ thresholds: proposed.thresholds }) })
    .catch((e) => { $("plan-msg").textContent = e.message; return null; });
  if (!r) return;
  const parts = [vigil.t("patient.preview_result", { days: r.days,
    proposed: vigil.plural("patient.alert_count", r.proposed.alerts),
    current: vigil.plural("patient.alert_count", r.current.alerts) })];
  if (r.new.length) parts.push(vigil.t("patient.preview_new", { list: listed(r.new) }));
  if (r.gone.length) parts.push(vigil.t("patient.preview_gone", { list: listed(r.gone) }));
  if (!r.new.length && !r.gone.length) parts.push(vigil.t("patient.preview_same"));
  $("plan-msg").textContent = parts.join(" ");
});
$("plan").addEventListener("submit", async (e) => {
  e.preventDefault();
  const proposed = formPlan(true);
  if (!proposed) return;
  try {
    plan = await vigil.call(`/patients/${patientId}/care-plan`, { method: "PUT", body: JSON.stringify(proposed) });
  } catch (err) { $("plan-msg").textContent = err.message; return; }
  $("plan-msg").textContent = vigil.t("patient.saved");
  planRows();
  draw();
});
if (!vigil.signedIn()) { location.href = "/"; } else { load(); }
