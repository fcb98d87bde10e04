"use strict";
const patientId = location.pathname.split("/").pop();
const METRICS = ["bp_systolic", "bp_diastolic", "heart_rate", "spo2", "glucose", "body_weight",
  "body_temperature", "respiratory_rate"];
// Defaults from guidance, drawn when the care plan sets nothing (see docs/detectors.md).
const DEFAULTS = { bp_systolic: { high: 180 }, bp_diastolic: { high: 120 }, spo2: { low: 90 },
  glucose: { low: 70, high: 250 }, heart_rate: { low: 40, high: 120 },
  body_temperature: { high: 38 }, respiratory_rate: { high: 25 } };
const TARGETS = { bp_systolic: { high: 135 }, bp_diastolic: { high: 85 },
  glucose: { low: 70, high: 180 } };
let plan = { thresholds: {}, targets: {} }, patient = null;

function limitsFor(metric) {
  const t = plan.thresholds[metric] || (patient.conditions.includes("copd") && metric === "spo2"
    ? { low: 88 } : DEFAULTS[metric]) || {};
  const g = plan.targets[metric] || TARGETS[metric] || {};
  const lines = [];
  if (t.low != null) lines.push({ value: t.low, kind: "threshold", label: vigil.t("patient.alert_below", { v: t.low }) });
  if (t.high != null) lines.push({ value: t.high, kind: "threshold", label: vigil.t("patient.alert_above", { v: t.high }) });
  if (g.low != null) lines.push({ value: g.low, kind: "target", label: vigil.t("patient.target_above", { v: g.low }) });
  if (g.high != null) lines.push({ value: g.high, kind: "target", label: vigil.t("patient.target_below", { v: g.high }) });
  return lines;
}

async function loadCharts(alerts) {
  const days = Number($("range").value);
  const end = new Date(), start = new Date(end.getTime() - days * 86400e3);
  const bucket = days <= 2 ? "15m" : days <= 7 ? "1h" : "6h";
  const boxes = await Promise.all(METRICS.map(async (metric) => {
    const q = `metric=${metric}&bucket=${bucket}&start=${start.toISOString()}&end=${end.toISOString()}`;
    const r = await vigil.call(`/patients/${patientId}/readings/rollup?${q}`);
    if (!r.buckets.length) return "";
    const markers = alerts.filter((a) => (a.metrics || []).includes(metric))
      .map((a) => ({ time: a.first_seen, severity: a.severity, title: a.explanation.sentence }));
    const last = r.buckets[r.buckets.length - 1];
    return `<div class="metric" data-metric="${metric}"><h3>${text(vigil.metricName(metric))}
      <span class="muted">${text(vigil.t("patient.latest", { value: `${last.avg} ${vigil.units[r.unit] || r.unit}` }))}</span></h3>
      ${chartSvg(r, limitsFor(metric), markers, { start, end })}</div>`;
  }));
  $("charts").innerHTML = boxes.join("") || `<p class="muted">${text(vigil.t("patient.no_readings"))}</p>`;
}

function planRows() {
  $("plan-rows").innerHTML = METRICS.map((m) => {
    const t = plan.thresholds[m] || {};
    return `<tr><td>${text(vigil.metricName(m))}</td>
      <td><input name="${m}.low" type="number" step="any" value="${t.low ?? ""}"
        aria-label="${text(vigil.metricName(m))} · ${text(vigil.t("patient.col_below"))}"
        placeholder="${(DEFAULTS[m] || {}).low ?? ""}"></td>
      <td><input name="${m}.high" type="number" step="any" value="${t.high ?? ""}"
        aria-label="${text(vigil.metricName(m))} · ${text(vigil.t("patient.col_above"))}"
        placeholder="${(DEFAULTS[m] || {}).high ?? ""}"></td></tr>`;
  }).join("");
}

function formPlan() {
  const thresholds = {};
  for (const input of $("plan").querySelectorAll("input")) {
    if (input.value === "") continue;
    const [metric, side] = input.name.split(".");
    (thresholds[metric] ||= {})[side] = Number(input.value);
  }
  return { thresholds, targets: plan.targets };
}

async function load() {
  try {
    if (!(await vigil.guard("staff"))) return;
    patient = await vigil.call(`/patients/${patientId}`);
  } catch (e) {
    $("refused").hidden = false;
    $("refused").textContent = e.status === 403 || e.status === 404
      ? vigil.t("patient.refused") : e.message;
    document.querySelectorAll("section").forEach((s) => { s.hidden = true; });
    return;
  }
  $("name").textContent = patient.display_name;
  $("conditions").textContent = patient.conditions.join(", ");
  plan = await vigil.call(`/patients/${patientId}/care-plan`);
  planRows();
  const alerts = await vigil.call(`/alerts?patient_id=${patientId}&limit=100`);
  $("alerts").innerHTML = alerts.map((a) => `<div class="alert ${a.severity}">
    <b>${text(a.cause.replaceAll("_", " "))}</b> · ${text(vigil.t(`alerts.state_${a.state}`))} ·
    <span class="muted">${vigil.dateTime(a.first_seen)}</span><br>
    ${text(a.explanation.sentence)}</div>`).join("") || `<p class="muted">${text(vigil.t("alerts.none"))}</p>`;
  await loadCharts(alerts);
}

$("range").addEventListener("change", load);
$("preview").addEventListener("click", async () => {
  const r = await vigil.call(`/patients/${patientId}/care-plan/preview`,
    { method: "POST", body: JSON.stringify({ thresholds: formPlan().thresholds }) });
  const causes = (o) => Object.entries(o.by_cause).map(([c, n]) => `${n} ${c.replaceAll("_", " ")}`)
    .join(", ") || vigil.t("patient.none");
  const count = (o) => `${vigil.t("patient.alert_count", { n: o.alerts })} (${causes(o)})`;
  $("plan-msg").textContent = vigil.t("patient.preview_result", { days: r.days,
    readings: r.readings, current: count(r.current), proposed: count(r.proposed) });
});
$("plan").addEventListener("submit", async (e) => {
  e.preventDefault();
  plan = await vigil.call(`/patients/${patientId}/care-plan`,
    { method: "PUT", body: JSON.stringify(formPlan()) });
  $("plan-msg").textContent = vigil.t("patient.saved");
  load();
});
if (!vigil.signedIn()) { location.href = "/"; } else { load(); }
