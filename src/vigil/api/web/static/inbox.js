"use strict";
// The care team's inbox (index.html); api, $, text and vigil come from common.js.

async function call(path, options = {}) {
  try {
    return await vigil.call(path, options);
  } catch (e) {
    if (e.message === "signed out") signOut();
    throw e;
  }
}

let alerts = [];  // as the API ordered them (the urgency order, vigil.alerts.urgency)
const names = {};  // patient id -> name, for the new-alert signal

let latestAlerts = 0;

async function loadAlerts() {
  // Only the latest request draws: an older answer (the state filter changed, a live refresh)
  // arriving after a newer one must not put back what the newer one replaced.
  const mine = ++latestAlerts;
  const state = $("f-state").value;
  const answer = await call(`/alerts?limit=500${state ? `&state=${state}` : ""}`);
  if (mine !== latestAlerts) return;
  alerts = answer;
  alerts.forEach((a) => { names[a.patient_id] = a.patient_name; });
  const keep = (id, values) => {
    const sel = $(id), now = sel.value;
    sel.innerHTML = `<option value="">${text(vigil.t("alerts.f_any"))}</option>` + values.map(([v, l]) =>
      `<option value="${text(v)}">${text(l)}</option>`).join("");
    sel.value = values.some(([v]) => v === now) ? now : "";
  };
  keep("f-cause", [...new Set(alerts.map((a) => a.cause))].sort().map((c) => [c, alertWork.causeName(c)]));
  keep("f-patient", Object.entries(Object.fromEntries(alerts.map((a) => [a.patient_id, a.patient_name])))
    .sort((x, y) => x[1].localeCompare(y[1])));
  showAlerts();
}

function showAlerts() {
  const sev = $("f-severity").value, cause = $("f-cause").value, patient = $("f-patient").value;
  const words = $("f-search").value.trim().toLowerCase();
  const shown = alerts.filter((a) => (!sev || a.severity === sev) && (!cause || a.cause === cause)
    && (!patient || a.patient_id === patient) && (!words || [a.patient_name, a.explanation.sentence,
      alertWork.causeName(a.cause), a.cause].join(" ").toLowerCase().includes(words)));
  const by = $("f-sort").value, time = (a) => new Date(a.last_seen).getTime();
  if (by === "newest") shown.sort((x, y) => time(y) - time(x));
  if (by === "oldest") shown.sort((x, y) => time(x) - time(y));
  if (by === "patient") shown.sort((x, y) => x.patient_name.localeCompare(y.patient_name));
  alertWork.render($("alerts"), shown.map((a) => alertWork.card(a, { select: true })).join("")
    || `<p class="muted">${text(vigil.t("inbox.no_alerts"))}</p>`);
  $("shown").textContent = vigil.t("alerts.shown", { n: shown.length, total: alerts.length });
}

// The latest values as clinicians write them: blood pressure as one reading (148/92 mmHg).
function vitalsText(vitals) {
  const of = (m) => vitals.find((v) => v.metric === m);
  const sys = of("bp_systolic"), dia = of("bp_diastolic");
  const parts = vitals.filter((v) => !v.metric.startsWith("bp_")).map((v) => `${vigil.metricName(v.metric)} ${
    vigil.formatValue(v.metric, v.value, v.unit, { censored: v.censored })}`);
  if (sys || dia) parts.unshift(`${vigil.metricName("bp")} ${vigil.formatBP(sys && sys.value, dia && dia.value)}`);
  return text(parts.join(", "));
}

async function loadPatients() {
  const team = $("team").value;
  if (!team) return;
  const rows = await call(`/care-teams/${team}/latest-vitals`);
  // Triage the way clinics work: who needs attention first, then everyone else.
  const now = Date.now();
  const stale = (p) => !p.vitals.length ||
    Math.max(...p.vitals.map((v) => new Date(v.time).getTime())) < now - 3 * 86400e3;
  const groups = [
    [vigil.t("inbox.group_alerts"), rows.filter((p) => p.open_alerts > 0)],
    [vigil.t("inbox.group_not_measuring"), rows.filter((p) => !p.open_alerts && stale(p))],
    [vigil.t("inbox.group_stable"), rows.filter((p) => !p.open_alerts && !stale(p))],
  ];
  const row = (p) => `
    <tr class="${p.open_alerts ? "sev-high" : ""}"><td><a href="/patients/${p.patient_id}">${text(p.display_name)}</a></td>
    <td>${p.open_alerts}</td>
    <td>${vitalsText(p.vitals)}</td></tr>`;
  $("patients").innerHTML = groups.filter(([, list]) => list.length).map(([name, list]) =>
    `<tr><th colspan="3">${text(name)} (${list.length})</th></tr>` +
    list.slice(0, 200).map(row).join("")).join("");
}

async function ackSelected() {
  const ids = [...document.querySelectorAll("#alerts .pick:checked")].map((b) => b.dataset.id);
  await Promise.all(ids.map((id) => call(`/alerts/${id}/acknowledge`, { method: "POST", body: "{}" })));
  await loadAlerts();
}

async function start() {
  $("login").hidden = true; $("app").hidden = false;
  // A patient signing in here is taken to their own page.
  if ((await call("/me")).role === "patient") { location.href = "/feed"; return; }
  const me = await vigil.guard("staff");
  if (!me) return;
  $("logout").onclick = async () => {
    vigilLive.stop();
    await vigil.signOut(); signOut();
  };
  const teams = await call("/care-teams");
  $("team").innerHTML = teams.map((t) => `<option value="${t.id}">${text(t.name)}</option>`).join("");
  await alertWork.loadStaff();
  await Promise.all([loadAlerts(), loadPatients()]);
  const reload = () => Promise.all([loadAlerts(), loadPatients()]);
  vigilLive.start({ onChange: reload, onResync: reload,
    nameOf: (c) => names[c.patient_id] || "" });
}

function signOut() {
  vigil.forget();
  vigilLive.stop();
  $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true;
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await vigil.signIn($("email").value, $("password").value);
  } catch (e) { $("error").textContent = e.message; return; }
  $("error").textContent = "";
  start().catch((e) => { $("error").textContent = e.message; });
});
alertWork.bind($("alerts"), () => loadAlerts());
["f-severity", "f-cause", "f-patient", "f-sort"].forEach((id) => $(id).addEventListener("change", showAlerts));
$("f-search").addEventListener("input", showAlerts);
$("f-state").addEventListener("change", () => loadAlerts());
$("filters").addEventListener("submit", (e) => e.preventDefault());
$("select-all").addEventListener("click", () => {
  document.querySelectorAll("#alerts .pick:not(:disabled)").forEach((b) => { b.checked = true; });
});
$("ack-selected").addEventListener("click", ackSelected);
$("team").addEventListener("change", loadPatients);
if (vigil.signedIn()) { start().catch(signOut); } else { signOut(); }
