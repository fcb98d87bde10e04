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
  if (t.low != null) lines.push({ value: t.low, kind: "threshold", label: `alert < ${t.low}` });
  if (t.high != null) lines.push({ value: t.high, kind: "threshold", label: `alert ≥ ${t.high}` });
  if (g.low != null) lines.push({ value: g.low, kind: "target", label: `target ≥ ${g.low}` });
  if (g.high != null) lines.push({ value: g.high, kind: "target", label: `target ≤ ${g.high}` });
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
    return `<div class="metric" data-metric="${metric}"><h3>${text(vigil.names[metric])}
      <span class="muted">latest ${last.avg} ${text(vigil.units[r.unit] || r.unit)}</span></h3>
      ${chartSvg(r, limitsFor(metric), markers, { start, end })}</div>`;
  }));
  $("charts").innerHTML = boxes.join("") || `<p class="muted">No readings in this range.</p>`;
}

function planRows() {
  $("plan-rows").innerHTML = METRICS.map((m) => {
    const t = plan.thresholds[m] || {};
    return `<tr><td>${text(vigil.names[m])}</td>
      <td><input name="${m}.low" type="number" step="any" value="${t.low ?? ""}"
        placeholder="${(DEFAULTS[m] || {}).low ?? ""}"></td>
      <td><input name="${m}.high" type="number" step="any" value="${t.high ?? ""}"
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
    patient = await vigil.call(`/patients/${patientId}`);
  } catch (e) {
    $("refused").hidden = false;
    $("refused").textContent = e.status === 403 || e.status === 404
      ? "You cannot open this patient's page." : e.message;
    document.querySelectorAll("section").forEach((s) => { s.hidden = true; });
    return;
  }
  $("name").textContent = patient.display_name;
  $("conditions").textContent = patient.conditions.join(", ");
  plan = await vigil.call(`/patients/${patientId}/care-plan`);
  planRows();
  const alerts = await vigil.call(`/alerts?patient_id=${patientId}&limit=100`);
  $("alerts").innerHTML = alerts.map((a) => `<div class="alert ${a.severity}">
    <b>${text(a.cause.replaceAll("_", " "))}</b> · ${text(a.state)} ·
    <span class="muted">${new Date(a.first_seen).toLocaleString()}</span><br>
    ${text(a.explanation.sentence)}</div>`).join("") || `<p class="muted">No alerts.</p>`;
  await loadCharts(alerts);
}

$("range").addEventListener("change", load);
$("preview").addEventListener("click", async () => {
  const r = await vigil.call(`/patients/${patientId}/care-plan/preview`,
    { method: "POST", body: JSON.stringify({ thresholds: formPlan().thresholds }) });
  const causes = (o) => Object.entries(o.by_cause).map(([c, n]) => `${n} ${c.replaceAll("_", " ")}`)
    .join(", ") || "none";
  $("plan-msg").textContent = `Over the last ${r.days} days (${r.readings} readings): today's ` +
    `plan ${r.current.alerts} alerts (${causes(r.current)}); proposed ${r.proposed.alerts} ` +
    `(${causes(r.proposed)}).`;
});
$("plan").addEventListener("submit", async (e) => {
  e.preventDefault();
  plan = await vigil.call(`/patients/${patientId}/care-plan`,
    { method: "PUT", body: JSON.stringify(formPlan()) });
  $("plan-msg").textContent = "Saved: the detectors use it from the next reading on.";
  load();
});
if (!vigil.signedIn()) { location.href = "/"; } else { load(); }
